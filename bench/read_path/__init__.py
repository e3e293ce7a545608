"""Read-path benchmark: ``GET /v1/prompts/{slug}/active`` against its baselines.

Run ``python -m bench.read_path --help``. Four uvicorn servers, started the same way (one
worker process, uvloop + httptools, access log off, pinned to one core):

- ``promptops``: the real app (``create_app``) on a database with one prompt, one version;
- ``promptops-100k``: the real app on a database with 100,000 versions (1,000 prompts x 100),
  reading a prompt that has 100 versions;
- ``starlette``: a bare Starlette route returning the same JSON (``JSONResponse``, encoded per
  request, same extra headers), no authentication;
- ``raw-asgi``: a raw ASGI callable sending the same pre-encoded bytes and headers: the floor
  for a Python server.

wrk (pinned to the other core) loads each in interleaved rounds; the report gives medians,
ratios of medians and wrk's p50/p99 latency, plus requests per second of server CPU time
(read from ``/proc``), which holds steady when other load on the machine starves the server
or wrk. Afterwards: the app-only cost per request (in-process) and the snapshot's miss path
on both databases. Diagnostics on request: ``--control`` (a second, identical PromptOps
process: an A/A pair), ``--app-process-floor``, ``--prototype`` (see ``experiment.py``) and
``--profile`` (py-spy). Results: docs/performance.md, "Read path".
"""
