"""The key authenticator under attack and under races: a revocation during bcrypt is not
lost, unknown/revoked prefixes cost no bcrypt, failed checks are rate-limited per prefix
(429 + Retry-After, without bcrypt) while the verified key keeps working."""

from __future__ import annotations

from typing import Any

import pytest

from promptops.domain import keys as key_service
from promptops.domain.access import Actor
from promptops.domain.errors import AuthenticationError, RateLimitedError
from promptops.server.auth import KeyAuthenticator
from tests.server.helpers import assert_error
from tests.support import Api, Project


class Counting:
    """Wraps the real bcrypt check; counts calls and can run ``during`` inside the first."""

    def __init__(self, during: Any = None) -> None:
        self.calls = 0
        self.during = during

    def __call__(self, token: str, key_hash: str) -> bool:
        self.calls += 1
        ok = key_service.verify_key(token, key_hash)
        if self.during is not None:
            during, self.during = self.during, None
            during()
        return ok


def _revoke(app: Any, prefix: str, project_id: str) -> None:
    admin = Actor(label="admin", role="admin")
    with app.state.db.write() as session:  # its commit announces key_revoked to listeners
        key_service.revoke_key(session, admin, prefix, project_id)


def test_a_revocation_during_bcrypt_is_not_lost(app: Any, project: Project) -> None:
    auth = app.state.auth
    token = project.key
    auth.verify = Counting(during=lambda: _revoke(app, project.prefix, project.id))
    # The row was read before the revocation; the revocation lands mid-bcrypt.
    with pytest.raises(AuthenticationError, match="revoked"):
        auth.authenticate(token)
    assert auth.cached(token) is None  # not served from memory
    with pytest.raises(AuthenticationError, match="revoked"):
        auth.authenticate(token)


def test_a_clear_during_bcrypt_only_costs_a_reread(app: Any, project: Project) -> None:
    auth = app.state.auth
    auth.verify = counting = Counting(during=auth.clear)
    actor = auth.authenticate(project.key)
    assert actor.label == project.prefix and counting.calls == 1
    assert auth.cached(project.key) is not None  # remembered after the re-read


def test_unknown_and_revoked_prefixes_cost_no_bcrypt(
    app: Any, api: Api, project: Project, admin_key: str
) -> None:
    auth = app.state.auth
    auth.verify = counting = Counting()
    fake, _ = key_service.generate_key()
    for _ in range(3):
        assert_error(api.as_(fake).get("/v1/prompts"), 401)
    doomed = api.new_key(admin_key, "dev", "read", project_id=project.id)
    _revoke(app, doomed[:16], project.id)
    for _ in range(3):
        assert_error(api.as_(doomed).get("/v1/prompts"), 401)
        assert_error(api.as_(doomed).get("/v1/prompts/x/active"), 401)
    assert counting.calls == 0


def _guess(prefix: str, n: int) -> str:
    return f"{prefix}_{str(n).rjust(40, 'x')}"


def test_failed_checks_are_rate_limited_per_prefix_and_the_real_key_still_works(
    app: Any, api: Api, project: Project, admin_key: str
) -> None:
    auth = app.state.auth
    assert api.as_(project.key).get("/v1/prompts").status_code == 200  # verified once
    auth.verify = counting = Counting()
    limit = app.state.settings.key_max_failures
    for n in range(limit):
        assert_error(api.as_(_guess(project.prefix, n)).get("/v1/prompts"), 401)
    assert counting.calls == limit
    # Over the limit: 429 with Retry-After, no bcrypt (API and the SDK read path).
    r = api.as_(_guess(project.prefix, 999)).get("/v1/prompts")
    assert_error(r, 429, code="rate_limited")
    assert int(r.headers["retry-after"]) >= 1
    r = api.as_(_guess(project.prefix, 998)).get("/v1/prompts/x/active")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited"
    assert counting.calls == limit
    # The holder of the real key is not locked out, even once its memory has expired.
    auth._cache_seconds = 0.0
    assert api.as_(project.key).get("/v1/prompts").status_code == 200
    # Another prefix has its own bucket.
    other = api.new_key(admin_key, "dev", "read", project_id=project.id)
    assert_error(api.as_(_guess(other[:16], 1)).get("/v1/prompts"), 401)
    assert api.as_(other).get("/v1/prompts").status_code == 200
    assert counting.calls == limit + 2


def test_the_bucket_refills(app: Any, project: Project) -> None:
    now = [0.0]
    auth = KeyAuthenticator(app.state.db, clock=lambda: now[0], max_failures=2, failure_window=10.0)
    auth.verify = counting = Counting()
    for n in range(2):
        with pytest.raises(AuthenticationError):
            auth.authenticate(_guess(project.prefix, n))
    with pytest.raises(RateLimitedError) as refused:
        auth.authenticate(_guess(project.prefix, 2))
    assert refused.value.retry_after == 5  # one failure's worth: 10 s / 2
    now[0] = 5.0
    with pytest.raises(AuthenticationError):
        auth.authenticate(_guess(project.prefix, 3))
    assert counting.calls == 3
    # A key never verified by this process waits for the bucket like anyone else.
    with pytest.raises(RateLimitedError):
        auth.authenticate(project.key)
    now[0] = 10.0
    assert auth.authenticate(project.key).label == project.prefix
