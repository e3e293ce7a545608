"""A real webhook receiver (http.server on 127.0.0.1 in a thread) and bounded waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from tests.support import Api, free_port

T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Received:
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int  # what the receiver answered (or was about to, when it hung)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """Records every request; answers ``script`` statuses first, then ``status``.
    ``hold`` makes requests wait (until :meth:`release`) before answering."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.arrived: list[Received] = []  # on arrival, before answering
        self.answered: list[Received] = []  # after the answer was written
        self.script: list[int] = []
        self.status = 200
        self.reply_body: bytes | None = None
        self.delay = 0.0
        self.hold = False
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with owner._lock:
                    status = owner.script.pop(0) if owner.script else owner.status
                    hold, delay = owner.hold, owner.delay
                    item = Received(headers, body, status)
                    owner.arrived.append(item)
                if hold:
                    owner._released.wait(30)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("content-type", "text/plain")
                    self.end_headers()
                    self.wfile.write(owner.reply_body or f"answered {status}".encode())
                    self.wfile.flush()
                except OSError:
                    return  # the sender is gone (a killed worker)
                with owner._lock:
                    owner.answered.append(item)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def release(self) -> None:
        self.hold = False
        self._released.set()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- reading ---------------------------------------------------------------------------

    def ok(self) -> list[Received]:
        """Requests answered with 2xx."""
        with self._lock:
            return [r for r in self.answered if 200 <= r.status < 300]

    def ok_ids(self) -> set[str]:
        return {r.id for r in self.ok()}

    def wait_ok(self, count: int, timeout: float = 30.0) -> list[Received]:
        return wait_until(
            lambda: self.ok() if len(self.ok()) >= count else None,
            timeout,
            f"{count} successful deliveries (have {len(self.ok())})",
        )


def deliveries(api: Api, key: str, endpoint_id: str, **params: Any) -> list[dict[str, Any]]:
    r = api.as_(key).get(f"/v1/webhooks/{endpoint_id}/deliveries", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def settled(
    api: Api, key: str, endpoint_id: str, count: int, **params: Any
) -> list[dict[str, Any]]:
    """Wait until ``count`` deliveries exist and none is pending; returns them."""

    def check() -> list[dict[str, Any]] | None:
        rows = deliveries(api, key, endpoint_id, **params)
        done = len(rows) >= count and all(d["status"] != "pending" for d in rows)
        return rows if done else None

    return wait_until(check, 30.0, f"{count} settled deliveries")
