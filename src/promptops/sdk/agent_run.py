"""The typed answers of ``client.agents``: a run (:class:`AgentRun`), its steps
(:class:`AgentStep`) and a page of runs (:class:`AgentRunPage`), read from the server's JSON
(``GET /v1/agents/{slug}/runs/{id}``; the contract's ``RunOut`` / ``StepOut``).

Plain dataclasses: the SDK does not depend on pydantic (nor on the server's contract package),
so these mirror the wire fields and check their shape when read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from promptops.sdk.errors import AgentRunError, InvalidResponseError

__all__ = ["FINISHED", "RUN_STATUSES", "AgentRun", "AgentRunPage", "AgentStep"]

RUN_STATUSES = ("queued", "running", "waiting", "succeeded", "failed", "cancelled", "timed_out")
FINISHED = frozenset({"succeeded", "failed", "cancelled", "timed_out"})


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"not a timestamp: {value!r}")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"not an integer: {value!r}")
    return value


def _float(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def _str(value: Any, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"not a string: {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class AgentStep:
    """One step of a run (``key`` is the step's name, ``name[i]`` for a map's item i)."""

    key: str
    name: str
    type: str
    status: str
    input: Any
    output: Any
    error: str | None
    attempts: int
    input_tokens: int
    output_tokens: int
    cost: float
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> AgentStep:
        return cls(
            key=_str(data["key"]),
            name=_str(data["name"]),
            type=_str(data["type"]),
            status=_str(data["status"]),
            input=data.get("input"),
            output=data.get("output"),
            error=_str(data.get("error"), True),
            attempts=_int(data["attempts"]),
            input_tokens=_int(data["input_tokens"]),
            output_tokens=_int(data["output_tokens"]),
            cost=_float(data["cost"]),
            started_at=_time(data.get("started_at")),
            finished_at=_time(data.get("finished_at")),
        )


@dataclass(frozen=True, slots=True)
class AgentRun:
    """A run of an agent as the server last reported it.

    ``status`` is one of :data:`RUN_STATUSES`; ``finished`` says whether it can still change.
    ``steps`` is empty in a listing (:meth:`Agents.list_runs`): read the run for them.
    ``created`` is what starting it answered (False: the ``idempotency_key`` named an
    existing run), None for a run read otherwise.
    """

    id: str
    agent: str
    version: int
    environment: str
    status: str
    inputs: dict[str, Any]
    output: Any
    error: str | None
    idempotency_key: str | None
    callback_url: str | None
    steps_run: int
    input_tokens: int
    output_tokens: int
    cost: float
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    steps: tuple[AgentStep, ...] = ()
    created: bool | None = field(default=None, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def step(self, key: str) -> AgentStep:
        """The step ``key`` (KeyError if the run has not reached it)."""
        for s in self.steps:
            if s.key == key:
                return s
        raise KeyError(key)

    def raise_for_status(self) -> AgentRun:
        """The run itself if it succeeded or is still going; else raise
        :class:`~promptops.AgentRunError` (its ``status``, ``error`` and ``run``)."""
        if self.finished and not self.succeeded:
            raise AgentRunError(self)
        return self

    @classmethod
    def from_payload(cls, data: Any, *, created: bool | None = None) -> AgentRun:
        """A run from the server's JSON; :class:`InvalidResponseError` when it is not one."""
        try:
            if not isinstance(data, Mapping):
                raise TypeError("not a JSON object")
            status = _str(data["status"])
            if status not in RUN_STATUSES:
                raise ValueError(f"unknown status {status!r}")
            inputs = data.get("inputs") or {}
            if not isinstance(inputs, dict):
                raise TypeError("inputs is not an object")
            return cls(
                id=_str(data["id"]),
                agent=_str(data.get("agent") or ""),
                version=_int(data["version"]),
                environment=_str(data["environment"]),
                status=status,
                inputs=inputs,
                output=data.get("output"),
                error=_str(data.get("error"), True),
                idempotency_key=_str(data.get("idempotency_key"), True),
                callback_url=_str(data.get("callback_url"), True),
                steps_run=_int(data["steps_run"]),
                input_tokens=_int(data["input_tokens"]),
                output_tokens=_int(data["output_tokens"]),
                cost=_float(data["cost"]),
                created_at=_time(data.get("created_at")),
                started_at=_time(data.get("started_at")),
                finished_at=_time(data.get("finished_at")),
                steps=tuple(AgentStep.from_payload(s) for s in data.get("steps") or ()),
                created=created,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidResponseError(
                f"the server's answer is not an agent run: {type(exc).__name__}: {exc}",
                status_code=200,
            ) from None


@dataclass(frozen=True, slots=True)
class AgentRunPage:
    """One page of :meth:`Agents.list_runs`, newest first; pass ``next_cursor`` as ``cursor``
    for the next page (None: this is the last)."""

    runs: tuple[AgentRun, ...]
    next_cursor: str | None

    def __iter__(self) -> Any:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)
