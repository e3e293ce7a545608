"""Agent engine benchmark: ``python -m bench.agents`` (from the repository root).

Measures, side by side in one run, on SQLite and on PostgreSQL (a scratch database at
127.0.0.1:5432, dropped afterwards):

1. per-step overhead: a run of a 20-step agent whose steps are ``http`` steps against a
   local target that answers at once (its own process), through the real engine (``POST
   /v1/agents/chain/runs`` -> the run's row says succeeded; the embedded DBOS engine runs it
   in this process), against calling the same step functions (``calls.call_http``) directly
   20 times; the difference divided by 20 (bars: <= 5 ms on SQLite, <= 10 ms on PostgreSQL);
2. 200 runs of a three-step agent (a prompt step through the official ``openai`` library
   against the fake providers of tests/fakes in their own process, a branch, an http step)
   started at once: all must succeed; throughput in runs/s, against the same three functions
   called directly by as many threads as the engine runs workflows at once.

Engine and direct runs alternate within a round; figures are medians over ``--rounds``.
Results go to docs/performance.md under "## Agents (bench/agents)" (``--no-write`` to skip).
"""
