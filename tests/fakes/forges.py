"""Fake GitHub and GitLab REST APIs, for the GitOps bridge's tests: the endpoints the
official clients (PyGithub, python-gitlab) call to find, open and update a pull/merge
request, in their wire format, backed by a real bare git repository (a request for a branch
the repository lacks is refused, as the real forges do).

    fake = FakeGitHub(bare, token="ghp_test")          # or FakeGitLab(bare, token=...)
    with live_server(fake.app) as srv:
        Github(base_url=srv.base_url, auth=Auth.Token("ghp_test")).get_repo("acme/prompts")
        ...
        assert [p["head"]["ref"] for p in fake.pulls] == ["promptops/greeting-v1"]

GitHub (``base_url`` = the server; GitHub Enterprise's ``/api/v3`` prefix is not used):

* ``GET /repos/{owner}/{repo}/pulls?state=open|closed|all&head=owner:branch&base=...``
* ``POST /repos/{owner}/{repo}/pulls`` ``{title, head, base, body}``: 201; 422 "Validation
  Failed" for a head branch the repository lacks or one with an open pull request already
* ``GET|PATCH /repos/{owner}/{repo}/pulls/{number}`` (``title``, ``body``, ``state``)
* ``Authorization: token <token>`` (or ``Bearer``), else 401 "Bad credentials"

GitLab (``url`` = the server; paths under ``/api/v4``; the project is its numeric id or its
URL-encoded path, ``group%2Fname``, as the API requires):

* ``GET /api/v4/projects/{id}/merge_requests?source_branch=...&state=opened|closed|merged|all``
* ``POST /api/v4/projects/{id}/merge_requests`` ``{source_branch, target_branch, title,
  description}``: 201; 409 for a source branch with an open merge request already, 400 for
  a branch the repository lacks
* ``GET|PUT /api/v4/projects/{id}/merge_requests/{iid}`` (``title``, ``description``,
  ``state_event`` close/reopen)
* ``PRIVATE-TOKEN: <token>`` (or ``Authorization: Bearer``), else 401

Every request is recorded (``fake.requests``: method, path, query, JSON body);
``fake.fail_next(n, status)`` answers the next ``n`` API requests with ``status`` (an outage).
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["FakeGitHub", "FakeGitLab", "ForgeRequest"]


@dataclass
class ForgeRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _FakeForge:
    def __init__(self, bare: Path, *, token: str, repo: str) -> None:
        self.bare = bare
        self.token = token
        self.repo = repo  # owner/name (GitHub), group/name (GitLab)
        self.requests: list[ForgeRequest] = []
        self.base_url = ""  # set by the test once the server listens (for the URLs it returns)
        self._failures: list[int] = []
        self._lock = threading.Lock()

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures += [status] * count

    def sha(self, branch: str) -> str | None:
        done = subprocess.run(
            ["git", "--git-dir", str(self.bare), "rev-parse", "--verify", "-q",
             f"refs/heads/{branch}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return done.stdout.strip() if done.returncode == 0 else None

    def _authorized(self, request: Request) -> bool:
        raise NotImplementedError

    async def _record(self, request: Request) -> Response | None:
        """Record the request; an answer when it is refused (credentials, an outage)."""
        raw = await request.body()
        try:
            body = await request.json() if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(
                ForgeRequest(request.method, request.url.path, dict(request.query_params), body)
            )
            failure = self._failures.pop(0) if self._failures else None
        if not self._authorized(request):
            return self._unauthorized()
        if failure is not None:
            return JSONResponse({"message": "Service Unavailable"}, status_code=failure)
        return None

    def _unauthorized(self) -> Response:
        raise NotImplementedError


class FakeGitHub(_FakeForge):
    def __init__(self, bare: Path, *, token: str = "ghp_test", repo: str = "acme/prompts") -> None:
        super().__init__(bare, token=token, repo=repo)
        self.pulls: list[dict[str, Any]] = []
        prefix = f"/repos/{repo}"
        self.app = Starlette(
            routes=[
                Route(f"{prefix}/pulls", self._list, methods=["GET"]),
                Route(f"{prefix}/pulls", self._create, methods=["POST"]),
                Route(f"{prefix}/pulls/{{number:int}}", self._get, methods=["GET"]),
                Route(f"{prefix}/pulls/{{number:int}}", self._edit, methods=["PATCH"]),
            ]
        )

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return given in (f"token {self.token}", f"Bearer {self.token}")

    def _unauthorized(self) -> Response:
        return JSONResponse(
            {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            status_code=401,
        )

    def _invalid(self, message: str, **error: str) -> Response:
        return JSONResponse(
            {"message": "Validation Failed", "errors": [{"resource": "PullRequest", **error,
             "message": message}]},
            status_code=422,
        )  # fmt: skip

    def _json(self, pull: dict[str, Any]) -> dict[str, Any]:
        owner = self.repo.split("/")[0]
        api = f"{self.base_url}/repos/{self.repo}"
        return {
            "id": 1000 + pull["number"],
            "node_id": f"PR_{pull['number']}",
            "number": pull["number"],
            "url": f"{api}/pulls/{pull['number']}",
            "html_url": f"https://github.example/{self.repo}/pull/{pull['number']}",
            "state": pull["state"],
            "title": pull["title"],
            "body": pull["body"],
            "draft": False,
            "merged": pull["merged"],
            "merged_at": None,
            "user": {"login": "promptops-bot", "id": 7, "type": "Bot"},
            "head": {
                "ref": pull["head"],
                "label": f"{owner}:{pull['head']}",
                "sha": self.sha(pull["head"]) or "0" * 40,
            },
            "base": {"ref": pull["base"], "label": f"{owner}:{pull['base']}"},
            "created_at": pull["created_at"],
            "updated_at": pull["updated_at"],
        }

    def _find(self, number: int) -> dict[str, Any] | None:
        return next((p for p in self.pulls if p["number"] == number), None)

    async def _list(self, request: Request) -> Response:
        refused = await self._record(request)
        if refused is not None:
            return refused
        q = request.query_params
        state = q.get("state", "open")
        owner = self.repo.split("/")[0]
        found = [
            p
            for p in self.pulls
            if (state == "all" or p["state"] == state)
            and ("head" not in q or q["head"] == f"{owner}:{p['head']}")
            and ("base" not in q or q["base"] == p["base"])
        ]
        return JSONResponse([self._json(p) for p in sorted(found, key=lambda p: -p["number"])])

    async def _create(self, request: Request) -> Response:
        refused = await self._record(request)
        if refused is not None:
            return refused
        body = await request.json()
        for name in ("title", "head", "base"):
            if not isinstance(body.get(name), str) or not body[name]:
                return self._invalid(f"{name} is missing", field=name, code="missing_field")
        head = body["head"].split(":")[-1]
        if self.sha(head) is None or self.sha(body["base"]) is None:
            return self._invalid("head or base does not exist", field="head", code="invalid")
        if self.sha(head) == self.sha(body["base"]):
            return self._invalid(f"No commits between {body['base']} and {head}", code="custom")
        if any(p["head"] == head and p["state"] == "open" for p in self.pulls):
            owner = self.repo.split("/")[0]
            message = f"A pull request already exists for {owner}:{head}."
            return self._invalid(message, code="custom")
        now = _now()
        pull = {
            "number": len(self.pulls) + 1,
            "state": "open",
            "merged": False,
            "title": body["title"],
            "body": body.get("body"),
            "head": head,
            "base": body["base"],
            "created_at": now,
            "updated_at": now,
        }
        self.pulls.append(pull)
        return JSONResponse(self._json(pull), status_code=201)

    async def _get(self, request: Request) -> Response:
        refused = await self._record(request)
        if refused is not None:
            return refused
        pull = self._find(request.path_params["number"])
        if pull is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return JSONResponse(self._json(pull))

    async def _edit(self, request: Request) -> Response:
        refused = await self._record(request)
        if refused is not None:
            return refused
        pull = self._find(request.path_params["number"])
        if pull is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        body = await request.json()
        for name in ("title", "body", "state", "base"):
            if name in body:
                pull[name] = body[name]
        pull["updated_at"] = _now()
        return JSONResponse(self._json(pull))

    def reviews(self) -> list[dict[str, Any]]:
        """Every pull request: number, branch, base, title, body, state (open/closed)."""
        return [
            {"number": p["number"], "branch": p["head"], "base": p["base"],
             "title": p["title"], "body": p["body"], "state": p["state"]}
            for p in self.pulls
        ]  # fmt: skip

    def close(self, number: int) -> None:
        pull = self._find(number)
        assert pull is not None
        pull["state"] = "closed"


class FakeGitLab(_FakeForge):
    def __init__(
        self, bare: Path, *, token: str = "glpat-test", repo: str = "acme/prompts", id: int = 42
    ) -> None:
        super().__init__(bare, token=token, repo=repo)
        self.project_id = id
        self.merge_requests: list[dict[str, Any]] = []
        base = "/api/v4/projects/{project:path}/merge_requests"
        self.app = Starlette(
            routes=[
                Route(base, self._list, methods=["GET"]),
                Route(base, self._create, methods=["POST"]),
                Route(base + "/{iid:int}", self._get, methods=["GET"]),
                Route(base + "/{iid:int}", self._update, methods=["PUT"]),
            ]
        )

    def _authorized(self, request: Request) -> bool:
        return (
            request.headers.get("private-token") == self.token
            or request.headers.get("authorization") == f"Bearer {self.token}"
        )

    def _unauthorized(self) -> Response:
        return JSONResponse({"message": "401 Unauthorized"}, status_code=401)

    def _project_ok(self, request: Request) -> bool:
        """The project as GitLab takes it: the id, or the path URL-encoded (``a%2Fb``)."""
        raw = request.scope.get("raw_path", b"").decode("latin-1")
        encoded = f"/api/v4/projects/{quote(self.repo, safe='')}/"
        return raw.startswith((encoded, f"/api/v4/projects/{self.project_id}/"))

    def _json(self, mr: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": 5000 + mr["iid"],
            "iid": mr["iid"],
            "project_id": self.project_id,
            "title": mr["title"],
            "description": mr["description"],
            "state": mr["state"],
            "source_branch": mr["source_branch"],
            "target_branch": mr["target_branch"],
            "sha": self.sha(mr["source_branch"]),
            "web_url": f"https://gitlab.example/{self.repo}/-/merge_requests/{mr['iid']}",
            "author": {"id": 9, "username": "promptops-bot"},
            "merge_status": "can_be_merged",
            "force_remove_source_branch": mr.get("remove_source_branch"),
            "created_at": mr["created_at"],
            "updated_at": mr["updated_at"],
        }

    async def _checked(self, request: Request) -> Response | None:
        refused = await self._record(request)
        if refused is not None:
            return refused
        if not self._project_ok(request):
            return JSONResponse({"message": "404 Project Not Found"}, status_code=404)
        return None

    def _find(self, iid: int) -> dict[str, Any] | None:
        return next((m for m in self.merge_requests if m["iid"] == iid), None)

    async def _list(self, request: Request) -> Response:
        refused = await self._checked(request)
        if refused is not None:
            return refused
        q = request.query_params
        state = q.get("state", "all")
        found = [
            m
            for m in self.merge_requests
            if (state == "all" or m["state"] == state)
            and ("source_branch" not in q or q["source_branch"] == m["source_branch"])
        ]
        found.sort(key=lambda m: -m["iid"])
        return JSONResponse([self._json(m) for m in found], headers={"x-total": str(len(found))})

    async def _create(self, request: Request) -> Response:
        refused = await self._checked(request)
        if refused is not None:
            return refused
        body = await request.json()
        missing = [
            n for n in ("source_branch", "target_branch", "title") if not body.get(n)
        ]  # fmt: skip
        if missing:
            return JSONResponse({"error": f"{missing[0]} is missing"}, status_code=400)
        source, target = body["source_branch"], body["target_branch"]
        if self.sha(source) is None or self.sha(target) is None:
            return JSONResponse(
                {"message": ["Source branch or target branch does not exist"]}, status_code=400
            )
        open_ = next(
            (m for m in self.merge_requests if m["source_branch"] == source
             and m["state"] == "opened"),
            None,
        )  # fmt: skip
        if open_ is not None:
            message = (
                f"Another open merge request already exists for this source branch: !{open_['iid']}"
            )
            return JSONResponse({"message": [message]}, status_code=409)
        now = _now()
        mr = {
            "iid": len(self.merge_requests) + 1,
            "state": "opened",
            "title": body["title"],
            "description": body.get("description"),
            "source_branch": source,
            "target_branch": target,
            "remove_source_branch": body.get("remove_source_branch"),
            "created_at": now,
            "updated_at": now,
        }
        self.merge_requests.append(mr)
        return JSONResponse(self._json(mr), status_code=201)

    async def _get(self, request: Request) -> Response:
        refused = await self._checked(request)
        if refused is not None:
            return refused
        mr = self._find(request.path_params["iid"])
        if mr is None:
            return JSONResponse({"message": "404 Not found"}, status_code=404)
        return JSONResponse(self._json(mr))

    async def _update(self, request: Request) -> Response:
        refused = await self._checked(request)
        if refused is not None:
            return refused
        mr = self._find(request.path_params["iid"])
        if mr is None:
            return JSONResponse({"message": "404 Not found"}, status_code=404)
        body = await request.json()
        for name in ("title", "description", "target_branch"):
            if name in body:
                mr[name] = body[name]
        event = body.get("state_event")
        if event in ("close", "reopen"):
            mr["state"] = "closed" if event == "close" else "opened"
        mr["updated_at"] = _now()
        return JSONResponse(self._json(mr))

    def reviews(self) -> list[dict[str, Any]]:
        """Every merge request, as :meth:`FakeGitHub.reviews` (state opened reads open)."""
        return [
            {"number": m["iid"], "branch": m["source_branch"], "base": m["target_branch"],
             "title": m["title"], "body": m["description"],
             "state": "open" if m["state"] == "opened" else m["state"]}
            for m in self.merge_requests
        ]  # fmt: skip

    def close(self, iid: int) -> None:
        mr = self._find(iid)
        assert mr is not None
        mr["state"] = "closed"
