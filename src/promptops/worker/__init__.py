"""The worker: webhook delivery (claiming with leases, attempts, retries).

- :mod:`promptops.worker.queue`: jobs in the database (claim, finish, retry schedule).
- :mod:`promptops.worker.delivery`: one signed HTTP attempt.
- :mod:`promptops.worker.runner`: the loop (embedded in the server, or ``promptops worker``,
  whose command is :mod:`promptops.cli.worker`).
- where webhooks may be sent is :mod:`promptops.domain.ssrf` (also checked at creation).

Nothing is imported here, so the CLI can register ``promptops worker`` without the server's
dependencies installed.
"""
