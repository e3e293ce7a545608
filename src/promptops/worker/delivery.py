"""One delivery attempt over HTTP: check the target, sign, POST, keep an excerpt.

The URL is checked against the SSRF policy at every attempt (DNS can change after the
endpoint was created) and the request goes to the very address that was checked: the URL's
host is replaced by that IP, the ``Host`` header and the TLS server name keep the original
name (so certificates are still verified against it). Redirects are not followed (a 3xx is
a failure) and proxy environment variables are ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from promptops import __version__
from promptops.compat.promptlayer import webhooks as promptlayer_webhooks
from promptops.db.models import utcnow
from promptops.domain.ssrf import UrlRefusedError, check_url
from promptops.webhooks import sign_headers
from promptops.worker.queue import Job, Outcome

__all__ = ["EXCERPT_BYTES", "Sender"]

EXCERPT_BYTES = 1024
USER_AGENT = f"PromptOps-Webhooks/{__version__}"


class Sender:
    """Sends attempts; shared by the worker's delivery threads (httpx clients are
    thread-safe). Connections are not kept alive: each attempt connects to the address
    checked for it."""

    def __init__(
        self,
        *,
        timeout: float,
        allow_private: Callable[[], bool],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self._allow_private = allow_private
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def send(self, job: Job) -> Outcome:
        started = utcnow()
        t0 = time.perf_counter()
        try:
            target = check_url(job.url, allow_private=self._allow_private())
        except UrlRefusedError as exc:
            return Outcome(False, started, error=f"refused: {exc.message}")
        url = httpx.URL(job.url)
        if job.format == "promptlayer":  # one signature: the current secret's
            headers = promptlayer_webhooks.headers(job.secrets[0], job.body, msg_id=job.msg_id)
        else:
            headers = sign_headers(job.secrets, job.body, msg_id=job.msg_id)
        headers.update(
            {
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                "host": url.netloc.decode("ascii"),
            }
        )
        extensions = {"sni_hostname": target.host} if url.scheme == "https" else {}
        try:
            with self._client.stream(
                "POST",
                url.copy_with(host=target.address),
                content=job.body,
                headers=headers,
                extensions=extensions,
            ) as response:
                excerpt = _excerpt(response)
        except httpx.TimeoutException as exc:
            return Outcome(
                False,
                started,
                latency_ms=_ms(t0),
                error=f"timed out after {self.timeout:g} s ({type(exc).__name__})",
            )
        except httpx.HTTPError as exc:
            detail = str(exc) or type(exc).__name__
            return Outcome(False, started, latency_ms=_ms(t0), error=f"{detail}"[:500])
        ok = 200 <= response.status_code < 300
        return Outcome(
            ok,
            started,
            status_code=response.status_code,
            latency_ms=_ms(t0),
            excerpt=excerpt,
            error=None if ok else f"HTTP {response.status_code} (expected 2xx)",
        )


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 3)


def _excerpt(response: httpx.Response) -> str | None:
    data = b""
    try:
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= EXCERPT_BYTES:
                break
    except httpx.HTTPError:  # the status already answered; a bad or slow body is no failure
        pass
    if not data:
        return None
    return data[:EXCERPT_BYTES].decode("utf-8", errors="replace")
