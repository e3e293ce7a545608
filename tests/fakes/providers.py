"""Fake LLM provider servers speaking the real wire formats, for tests.

One Starlette app serves all three providers; uvicorn runs it in a background
thread on 127.0.0.1 with an OS-chosen port, so the providers' official client
libraries can be pointed at it::

    with FakeProviderServer() as fake:
        client = openai.OpenAI(api_key="sk-test", base_url=fake.openai_base_url, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])
        assert fake.requests[-1].body["messages"] == [...]

Endpoints (everything else answers 404):

* OpenAI Chat Completions: ``POST /v1/chat/completions`` (client ``base_url`` =
  ``fake.base_url + "/v1"``), JSON or ``stream: true`` SSE (``data: {chunk}`` lines,
  ``stream_options.include_usage`` honoured, then ``data: [DONE]``).
* Anthropic Messages: ``POST /v1/messages`` (client ``base_url`` = ``fake.base_url``),
  JSON or SSE with ``event:`` lines (message_start, content_block_start, ping,
  content_block_delta..., content_block_stop, message_delta, message_stop).
* Gemini (google-genai): ``POST /{v1|v1beta|v1alpha}/models/{model}:generateContent`` and
  ``:streamGenerateContent?alt=sse`` (client ``http_options.base_url`` = ``fake.base_url``).

Replies are deterministic: ``"echo: " + <text of the last user message>`` unless
overridden with :meth:`FakeProviderServer.set_reply`. Token counts are word counts
(``len(text.split())``): prompt/input tokens = the words of every text piece of the
request (system prompt + all messages), completion/output tokens = the words of the
reply. A reply longer than the request's max-token limit (OpenAI ``max_completion_tokens``
/ ``max_tokens``, Anthropic ``max_tokens``, Gemini ``generationConfig.maxOutputTokens``)
is cut to that many words, with the provider's "length" stop reason.

Tool calls: :meth:`FakeProviderServer.set_tool_calls` makes the next replies of a provider
ask for function calls, in its wire format: OpenAI ``message.tool_calls`` (streamed as
``delta.tool_calls`` pieces, ``finish_reason: "tool_calls"``), Anthropic ``tool_use`` blocks
(streamed as ``input_json_delta`` pieces, ``stop_reason: "tool_use"``), Gemini
``functionCall`` parts. JSON output is a reply text (``set_reply``).

The fake also refuses what the real APIs refuse about tools and formats (400 with the
provider's error body): malformed tool definitions or tool choices, a tool choice without
tools, a tool message without its call id, an Anthropic ``tool_result`` that answers no
``tool_use`` of the previous assistant turn, a Gemini function response without a name.

Requests must carry a credential like the real APIs (any value is accepted): OpenAI
``Authorization: Bearer``, Anthropic ``x-api-key`` (or ``Authorization``), Gemini
``x-goog-api-key`` (or ``?key=``); without one the fake answers 401 / 401 / 403.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .checks import anthropic_check, gemini_check, openai_check

__all__ = [
    "PROVIDERS",
    "FakeProviderServer",
    "FakeToolCall",
    "RecordedRequest",
    "count_tokens",
    "error_body",
    "start_fake_providers",
]

PROVIDERS = ("openai", "anthropic", "gemini")

Reply = str | Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class FakeToolCall:
    """A function call the fake's reply asks for. ``arguments``: a dict, or raw text (sent
    as is: to test malformed JSON; OpenAI and streamed Anthropic only). ``id``: None for a
    generated one (Gemini: no id unless given)."""

    name: str
    arguments: dict[str, Any] | str
    id: str | None = None

    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return _dumps(self.arguments)


ToolCalls = Iterable[FakeToolCall] | Callable[[dict[str, Any]], Iterable[FakeToolCall]]


# ---------------------------------------------------------------------------
# Records and helpers
# ---------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request received by the fake (recorded even when it was answered with an error)."""

    provider: str  # "openai" | "anthropic" | "gemini" | "unknown"
    method: str
    path: str  # e.g. "/v1/chat/completions", "/v1/models/gemini-2.0-flash:generateContent"
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased header names
    body: Any  # parsed JSON body (None if empty or not JSON)
    status: int = 200  # HTTP status the fake answered with
    stream: bool = False  # whether a streaming response was requested

    @property
    def model(self) -> str | None:
        """The model asked for (from the body, or from the URL for Gemini)."""
        if self.provider == "gemini":
            match = re.search(r"/models/([^/:]+)", self.path)
            return match.group(1) if match else None
        if isinstance(self.body, dict):
            model = self.body.get("model")
            return model if isinstance(model, str) else None
        return None


@dataclass
class _Failure:
    status: int
    body: str | dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


def count_tokens(*texts: str) -> int:
    """The fake's deterministic token count: the number of whitespace-separated words."""
    return sum(len(t.split()) for t in texts)


_PIECE_RE = re.compile(r"\s*\S+\s*")


def _pieces(text: str) -> list[str]:
    """Split text into word-sized pieces that concatenate back to exactly ``text``."""
    pieces = _PIECE_RE.findall(text)
    if not pieces:
        return [text] if text else []
    # findall can split whitespace between two pieces ambiguously; rebuild exactly.
    joined = "".join(pieces)
    if joined != text:  # pragma: no cover - defensive, the regex covers all text
        return [text]
    return pieces


def _slices(text: str, size: int = 5) -> list[str]:
    """``text`` in pieces of ``size`` characters (how tool-call arguments are streamed)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def _truncate(text: str, limit: Any) -> tuple[str, bool]:
    """Cut ``text`` to ``limit`` words (the fake's tokens). Returns (text, truncated)."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        return text, False
    words = _PIECE_RE.findall(text)
    if len(words) <= limit:
        return text, False
    return "".join(words[:limit]).rstrip(), True


def _text_of(content: Any) -> list[str]:
    """Text pieces of an OpenAI / Anthropic message content (str or list of blocks)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    out: list[str] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, str):
                out.append(block)
            elif isinstance(block, dict):
                if isinstance(block.get("text"), str):
                    out.append(block["text"])
                elif block.get("type") == "tool_result":
                    out.extend(_text_of(block.get("content")))
    return out


def _gemini_text_of(content: Any) -> list[str]:
    """Text pieces of a Gemini Content ({role, parts: [{text}]})."""
    if not isinstance(content, dict):
        return []
    parts = content.get("parts")
    if not isinstance(parts, list):
        return []
    return [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------
# Error bodies in each provider's real format
# ---------------------------------------------------------------------------

_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again in 1s.",
    ),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", "service_unavailable", "The engine is currently overloaded."),
    504: ("server_error", None, "Gateway timeout."),
}

_ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low."),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out."),
    529: ("overloaded_error", "Overloaded"),
}

_GOOGLE_STATUS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    409: ("ABORTED", "The request was aborted."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    499: ("CANCELLED", "The operation was cancelled."),
    500: ("INTERNAL", "An internal error has occurred."),
    501: ("UNIMPLEMENTED", "Operation is not implemented."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}


def error_body(provider: str, status: int, message: str | None = None) -> dict[str, Any]:
    """The JSON error body ``provider`` sends with HTTP ``status``."""
    if provider == "openai":
        etype, code, default = _OPENAI_ERRORS.get(
            status,
            ("server_error", None, "Server error.")
            if status >= 500
            else ("invalid_request_error", None, "Request failed."),
        )
        return {
            "error": {"message": message or default, "type": etype, "param": None, "code": code}
        }
    if provider == "anthropic":
        etype, default = _ANTHROPIC_ERRORS.get(
            status,
            ("api_error", "Internal server error")
            if status >= 500
            else ("invalid_request_error", "Request failed."),
        )
        return {"type": "error", "error": {"type": etype, "message": message or default}}
    gstatus, default = _GOOGLE_STATUS.get(
        status,
        ("INTERNAL", "An internal error has occurred.")
        if status >= 500
        else ("FAILED_PRECONDITION", "Request failed."),
    )
    return {"error": {"code": status, "message": message or default, "status": gstatus}}


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


class FakeProviderServer:
    """OpenAI, Anthropic and Gemini fakes on one local uvicorn server (background thread).

    Use as a context manager (``with FakeProviderServer() as fake:``) or call
    :meth:`start` / :meth:`stop`. Thread-safe: tests may inspect and configure it
    while requests are in flight.
    """

    def __init__(self, *, chunk_delay: float = 0.0, startup_timeout: float = 10.0) -> None:
        self.chunk_delay = chunk_delay  # seconds to sleep between streamed chunks
        self._startup_timeout = startup_timeout
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: dict[str, deque[_Failure]] = {p: deque() for p in PROVIDERS}
        self._replies: dict[str, Reply] = {}
        self._tool_calls: dict[str, ToolCalls] = {}
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._stopping = threading.Event()
        self.app = self._build_app()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FakeProviderServer:
        """Start serving; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("FakeProviderServer is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        self._stopping.clear()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=port,
            loop="asyncio",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"fake-providers-{port}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive():
                sock.close()
                raise RuntimeError("fake provider server failed to start")
            if time.monotonic() > deadline:
                server.should_exit = True
                thread.join(5)
                sock.close()
                raise RuntimeError("fake provider server did not start in time")
            time.sleep(0.01)
        # Belt and braces: make sure a TCP connection is really accepted.
        with socket.create_connection(("127.0.0.1", port), timeout=self._startup_timeout):
            pass
        self._server, self._thread, self._port = server, thread, port
        return self

    def stop(self) -> None:
        """Shut the server down and join its thread (idempotent)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.should_exit = True
        thread.join(10)
        if thread.is_alive():  # pragma: no cover - only if a response hangs
            server.force_exit = True
            thread.join(5)
        self._server = self._thread = None
        self._port = None

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeProviderServer is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``base_url`` for ``openai.OpenAI`` / ``AsyncOpenAI``: ``base_url + "/v1"``."""
        return self.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """``base_url`` for ``anthropic.Anthropic`` / ``AsyncAnthropic``."""
        return self.base_url

    @property
    def gemini_base_url(self) -> str:
        """``HttpOptions(base_url=...)`` for ``google.genai.Client``."""
        return self.base_url

    # -- test controls -----------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot (copy) of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, provider: str) -> list[RecordedRequest]:
        """The recorded requests of one provider, oldest first."""
        self._check_provider(provider)
        with self._lock:
            return [r for r in self._requests if r.provider == provider]

    def last_request(self, provider: str | None = None) -> RecordedRequest:
        """The most recent request (of ``provider`` if given); AssertionError if none."""
        reqs = self.requests if provider is None else self.requests_for(provider)
        assert reqs, f"no request received{f' for {provider}' if provider else ''}"
        return reqs[-1]

    def fail_next(
        self,
        provider: str,
        status: int = 500,
        body: str | dict[str, Any] | None = None,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests for ``provider`` with HTTP ``status``.

        ``body``: None for the provider's standard error JSON for that status, a str
        to use as the error message inside that standard envelope, or a dict sent
        verbatim as the whole JSON body. ``headers`` are added to the response
        (e.g. ``{"retry-after": "0"}``). Calls accumulate (queued in order).
        """
        self._check_provider(provider)
        if status < 400:
            raise ValueError("fail_next needs an error status (>= 400)")
        failure = _Failure(status=status, body=body, headers=dict(headers or {}))
        with self._lock:
            self._failures[provider].extend(failure for _ in range(times))

    def set_reply(self, provider: str, reply: Reply | None) -> None:
        """Override the reply text for ``provider`` until :meth:`reset` (None restores echo).

        ``reply`` is a str, or a callable receiving the parsed request body and
        returning the reply text.
        """
        self._check_provider(provider)
        with self._lock:
            if reply is None:
                self._replies.pop(provider, None)
            else:
                self._replies[provider] = reply

    def set_tool_calls(self, provider: str, calls: ToolCalls | None) -> None:
        """Make the replies for ``provider`` ask for these function calls until :meth:`reset`
        (None: plain replies again). ``calls`` may be a callable receiving the parsed request
        body and returning the calls (none: a plain reply), e.g. to call tools until the
        conversation carries their results. The reply's text (``set_reply`` or the echo)
        goes along on Anthropic and Gemini only when ``set_reply`` was called; OpenAI sends
        no content."""
        self._check_provider(provider)
        with self._lock:
            if calls is None:
                self._tool_calls.pop(provider, None)
            else:
                self._tool_calls[provider] = calls if callable(calls) else list(calls)

    def reset(self) -> None:
        """Forget recorded requests, pending failures and reply overrides."""
        with self._lock:
            self._requests.clear()
            for queue in self._failures.values():
                queue.clear()
            self._replies.clear()
            self._tool_calls.clear()

    # -- internals ---------------------------------------------------------

    @staticmethod
    def _check_provider(provider: str) -> None:
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")

    def _next_id(self) -> str:
        with self._lock:
            return f"{next(self._ids):06d}"

    def _pop_failure(self, provider: str) -> _Failure | None:
        with self._lock:
            queue = self._failures[provider]
            return queue.popleft() if queue else None

    def _calls(self, provider: str, body: Any) -> tuple[list[FakeToolCall], bool]:
        """The tool calls to reply with, and whether a reply text was set too."""
        with self._lock:
            calls = self._tool_calls.get(provider, ())
            with_text = provider in self._replies
        return list(calls(body) if callable(calls) else calls), with_text

    def _reply_text(self, provider: str, body: dict[str, Any], default: str) -> str:
        with self._lock:
            reply = self._replies.get(provider)
        if reply is None:
            return default
        return reply(body) if callable(reply) else reply

    def _record(self, request: Request, provider: str, body: Any, status: int) -> None:
        stream = False
        if provider == "gemini":
            stream = ":streamGenerateContent" in request.url.path
        elif isinstance(body, dict):
            stream = bool(body.get("stream"))
        rec = RecordedRequest(
            provider=provider,
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers=dict(request.headers.items()),
            body=body,
            status=status,
            stream=stream,
        )
        with self._lock:
            self._requests.append(rec)

    def _error_response(
        self,
        provider: str,
        status: int,
        body: str | dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONResponse:
        payload = body if isinstance(body, dict) else error_body(provider, status, body)
        hdrs = dict(headers or {})
        if provider == "openai":
            hdrs.setdefault("x-request-id", f"req_fake{self._next_id()}")
        elif provider == "anthropic":
            request_id = f"req_fake{self._next_id()}"
            hdrs.setdefault("request-id", request_id)
            if not isinstance(body, dict):
                payload = {**payload, "request_id": request_id}
        return JSONResponse(payload, status_code=status, headers=hdrs)

    async def _handle(
        self,
        request: Request,
        provider: str,
        check: Callable[[Request, Any], tuple[int, str] | None],
        respond: Callable[[Request, dict[str, Any]], Response],
    ) -> Response:
        raw = await request.body()
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True

        failure = self._pop_failure(provider)
        if failure is not None:
            response: Response = self._error_response(
                provider, failure.status, failure.body, failure.headers
            )
        elif bad_json or not isinstance(body, dict):
            response = self._error_response(
                provider, 400, "We could not parse the JSON body of your request."
            )
        elif (problem := check(request, body)) is not None:
            response = self._error_response(provider, *problem)
        else:
            response = respond(request, body)
        self._record(request, provider, body, response.status_code)
        return response

    def _sse(self, events: Iterable[str], headers: Mapping[str, str]) -> StreamingResponse:
        delay = self.chunk_delay

        async def gen() -> AsyncIterator[str]:
            for event in events:
                if self._stopping.is_set():
                    return  # server shutting down: end in-flight streams promptly
                yield event
                remaining = delay
                while remaining > 0 and not self._stopping.is_set():
                    await asyncio.sleep(min(remaining, 0.05))
                    remaining -= 0.05
                if delay <= 0:
                    await asyncio.sleep(0)

        return StreamingResponse(
            gen(),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", **headers},
        )

    def _build_app(self) -> Starlette:
        async def openai_chat(request: Request) -> Response:
            return await self._handle(request, "openai", openai_check, self._openai_respond)

        async def anthropic_messages(request: Request) -> Response:
            return await self._handle(
                request, "anthropic", anthropic_check, self._anthropic_respond
            )

        async def gemini_models(request: Request) -> Response:
            return await self._handle(request, "gemini", gemini_check, self._gemini_respond)

        async def not_found(request: Request) -> Response:
            self._record(request, "unknown", None, 404)
            msg = f"Unknown path {request.method} {request.url.path} on the fake provider server"
            # Understood by every client: OpenAI/Google read error.message, Anthropic error.type.
            return JSONResponse(
                {
                    "type": "error",
                    "error": {
                        "message": msg,
                        "type": "not_found_error",
                        "code": 404,
                        "status": "NOT_FOUND",
                    },
                },
                status_code=404,
            )

        all_methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return Starlette(
            routes=[
                Route("/v1/chat/completions", openai_chat, methods=["POST"]),
                Route("/v1/messages", anthropic_messages, methods=["POST"]),
                Route("/{version:str}/models/{model_action:str}", gemini_models, methods=["POST"]),
                Route("/{path:path}", not_found, methods=all_methods),
            ]
        )

    # -- OpenAI --------------------------------------------------------------

    def _openai_respond(self, request: Request, body: dict[str, Any]) -> Response:
        messages = body["messages"]
        prompt_texts: list[str] = []
        last_user: list[str] = []
        for m in messages:
            texts = _text_of(m.get("content"))
            prompt_texts.extend(texts)
            if m.get("role") == "user":
                last_user = texts
        text = self._reply_text("openai", body, "echo: " + "\n".join(last_user))
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        text, truncated = _truncate(text, limit)
        finish_reason = "length" if truncated else "stop"
        model = body["model"]
        n = self._next_id()
        calls = [
            {
                "id": call.id or f"call_fake{n}_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_text()},
            }
            for i, call in enumerate(self._calls("openai", body)[0])
        ]
        content: str | None = text
        if calls:
            content, finish_reason = None, "tool_calls"
            text = " ".join(c["function"]["arguments"] for c in calls)
        prompt_tokens = count_tokens(*prompt_texts)
        completion_tokens = count_tokens(text)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        completion_id = f"chatcmpl-fake{n}"
        created = int(time.time())
        headers = {"x-request-id": f"req_fake{n}", "openai-processing-ms": "1"}

        if not body.get("stream"):
            payload = {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": content,
                            "refusal": None,
                            "annotations": [],
                            **({"tool_calls": calls} if calls else {}),
                        },
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": usage,
                "service_tier": "default",
                "system_fingerprint": "fp_fake",
            }
            return JSONResponse(payload, headers=headers)

        stream_options = body.get("stream_options") or {}
        include_usage = bool(stream_options.get("include_usage"))

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
            data: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "service_tier": "default",
                "system_fingerprint": "fp_fake",
                "choices": choices,
            }
            if include_usage:
                data["usage"] = None
            data.update(extra)
            return f"data: {_dumps(data)}\n\n"

        def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

        events = [chunk([choice({"role": "assistant", "content": "", "refusal": None})])]
        if calls:
            for i, call in enumerate(calls):
                head = {**call, "index": i, "function": {**call["function"], "arguments": ""}}
                events.append(chunk([choice({"tool_calls": [head]})]))
                events += [
                    chunk([choice({"tool_calls": [{"index": i, "function": {"arguments": p}}]})])
                    for p in _slices(call["function"]["arguments"])
                ]
        else:
            events += [chunk([choice({"content": piece})]) for piece in _pieces(text)]
        events.append(chunk([choice({}, finish_reason)]))
        if include_usage:
            events.append(chunk([], usage=usage))
        events.append("data: [DONE]\n\n")
        return self._sse(events, headers)

    # -- Anthropic -----------------------------------------------------------

    def _anthropic_respond(self, request: Request, body: dict[str, Any]) -> Response:
        prompt_texts = _text_of(body.get("system"))
        last_user: list[str] = []
        for m in body["messages"]:
            texts = _text_of(m.get("content"))
            prompt_texts.extend(texts)
            if m.get("role") == "user":
                last_user = texts
        text = self._reply_text("anthropic", body, "echo: " + "\n".join(last_user))
        text, truncated = _truncate(text, body.get("max_tokens"))
        stop_reason = "max_tokens" if truncated else "end_turn"
        model = body["model"]
        calls, with_text = self._calls("anthropic", body)
        blocks: list[dict[str, Any]] = [{"type": "text", "text": text}]
        if calls:
            stop_reason = "tool_use"
            blocks = blocks if with_text else []
            for i, call in enumerate(calls):
                arguments = call.arguments if isinstance(call.arguments, dict) else {}
                call_id = call.id or f"toolu_fake{self._next_id()}_{i}"
                blocks.append(
                    {"type": "tool_use", "id": call_id, "name": call.name, "input": arguments}
                )
        input_tokens = count_tokens(*prompt_texts)
        output_tokens = count_tokens(text) if not calls or with_text else 0
        output_tokens += sum(count_tokens(c.arguments_text()) for c in calls)
        n = self._next_id()
        message_id = f"msg_fake{n}"
        headers = {"request-id": f"req_fake{n}"}

        def usage(output: int) -> dict[str, Any]:
            return {
                "input_tokens": input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": output,
                "service_tier": "standard",
            }

        message: dict[str, Any] = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": blocks,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage(output_tokens),
        }
        if not body.get("stream"):
            return JSONResponse(message, headers=headers)

        def event(name: str, data: dict[str, Any]) -> str:
            return f"event: {name}\ndata: {_dumps(data)}\n\n"

        start_message = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": usage(min(1, output_tokens)),
        }
        events = [event("message_start", {"type": "message_start", "message": start_message})]
        raw = (
            {b["id"]: c.arguments_text() for b, c in zip(blocks[-len(calls) :], calls, strict=True)}
            if calls
            else {}
        )
        for index, block in enumerate(blocks):
            events += _anthropic_block_events(index, block, raw.get(block.get("id", "")), event)
        events += [
            event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {k: v for k, v in usage(output_tokens).items() if k != "service_tier"},
                },
            ),
            event("message_stop", {"type": "message_stop"}),
        ]
        return self._sse(events, headers)

    # -- Gemini --------------------------------------------------------------

    def _gemini_respond(self, request: Request, body: dict[str, Any]) -> Response:
        model_action = request.path_params["model_action"]
        model, _, action = model_action.partition(":")
        prompt_texts = _gemini_text_of(body.get("systemInstruction"))
        last_user: list[str] = []
        for content in body["contents"]:
            texts = _gemini_text_of(content)
            prompt_texts.extend(texts)
            if content.get("role", "user") == "user":
                last_user = texts
        text = self._reply_text("gemini", body, "echo: " + "\n".join(last_user))
        config = body.get("generationConfig") or {}
        text, truncated = _truncate(text, config.get("maxOutputTokens"))
        finish_reason = "MAX_TOKENS" if truncated else "STOP"
        prompt_tokens = count_tokens(*prompt_texts)
        response_id = f"fake{self._next_id()}"

        calls, with_text = self._calls("gemini", body)
        call_parts = []
        for call in calls:
            function_call: dict[str, Any] = {"name": call.name, "args": call.arguments}
            if call.id:
                function_call["id"] = call.id
            call_parts.append({"functionCall": function_call})
        if calls and not with_text:
            text = ""

        def response(
            part_text: str,
            candidates_tokens: int,
            finish: str | None,
            extra: list[Any] = (),  # type: ignore[assignment]
        ) -> dict[str, Any]:
            parts = [{"text": part_text}] if part_text or not extra else []
            candidate: dict[str, Any] = {
                "content": {"parts": [*parts, *extra], "role": "model"},
                "index": 0,
            }
            if finish is not None:
                candidate["finishReason"] = finish
            return {
                "candidates": [candidate],
                "usageMetadata": {
                    "promptTokenCount": prompt_tokens,
                    "candidatesTokenCount": candidates_tokens,
                    "totalTokenCount": prompt_tokens + candidates_tokens,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
                },
                "modelVersion": model,
                "responseId": response_id,
            }

        call_tokens = sum(count_tokens(c.arguments_text()) for c in calls)
        if action == "generateContent":
            tokens = count_tokens(text) + call_tokens
            return JSONResponse(response(text, tokens, finish_reason, call_parts))

        pieces = _pieces(text) or [""]
        events = []
        so_far = ""
        for i, piece in enumerate(pieces):
            so_far += piece
            last = i == len(pieces) - 1
            extra = call_parts if last else []  # Gemini sends a function call whole
            tokens = count_tokens(so_far) + (call_tokens if last else 0)
            data = response(piece, tokens, finish_reason if last else None, extra)
            events.append(f"data: {_dumps(data)}\r\n\r\n")
        return self._sse(events, {})


def _anthropic_block_events(
    index: int, block: dict[str, Any], raw_input: str | None, event: Callable[[str, Any], str]
) -> list[str]:
    """The stream events of one content block: start, (ping,) deltas, stop."""
    if block["type"] == "tool_use":
        start = {**block, "input": {}}
        deltas = [
            {"type": "input_json_delta", "partial_json": piece}
            for piece in _slices(raw_input or "")
        ]
    else:
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in _pieces(block["text"])]
    out = [
        event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
    ]
    if index == 0:
        out.append(event("ping", {"type": "ping"}))
    out += [
        event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
        for d in deltas
    ]
    out.append(event("content_block_stop", {"type": "content_block_stop", "index": index}))
    return out


def start_fake_providers(**kwargs: Any) -> FakeProviderServer:
    """Create and start a :class:`FakeProviderServer`; call ``.stop()`` when done."""
    return FakeProviderServer(**kwargs).start()
