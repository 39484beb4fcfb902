"""common.http.HttpClient over real HTTP on 127.0.0.1, against a tiny scripted server.

The server answers each request with the next scripted answer (status, headers, body, delay),
or 200 `{"ok": true}` when the script is empty, and records what it received, including the
client's source port (one port across calls = one pooled connection). Waits go through an
injected sleep that records them and takes no time.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from quart import Quart, Response, request

from common.http import (
    REDACTED,
    USER_AGENT,
    BasicAuth,
    HttpClient,
    HttpError,
    RetryPolicy,
    TokenAuth,
    error_message,
)
from tests.fakes.serve import free_port, serve_app
from tests.test_github import START as NOW
from tests.test_github import FakeTime as Waits  # records each wait, advances the clock

# Built at run time: no token-shaped literal in the repository.
TOKEN = "tok_" + "HttpLayerTestSecret" + "/+=9876"  # `/+=` so its URL-encoded form differs
INSTANT = RetryPolicy(max_attempts=3, initial_wait=1.0, jitter=0.0)


# ── the scripted server ──────────────────────────────────────────────────────────────────


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    port: int


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    text: str | None = None  # a non-JSON body (plain text, HTML)
    delay: float = 0.0


class Scripted:
    def __init__(self) -> None:
        self.answers: deque[Answer] = deque()
        self.seen: list[Seen] = []
        self.app = Quart(__name__)
        self.app.add_url_rule("/<path:path>", "any", self._serve, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])

    def then(self, status: int, body: Any = None, headers: dict[str, str] | None = None, *,
             text: str | None = None, delay: float = 0.0) -> Scripted:
        self.answers.append(Answer(status, headers or {}, body, text, delay))
        return self

    async def _serve(self, path: str) -> Response:
        raw = await request.get_data(as_text=True)
        self.seen.append(Seen(request.method, f"/{path}", {k.lower(): v for k, v in request.headers.items()},
                              json.loads(raw) if raw else None, request.scope["client"][1]))
        answer = self.answers.popleft() if self.answers else Answer(200, body={"ok": True, "path": f"/{path}"})
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.text is not None:
            return Response(answer.text, answer.status, answer.headers, content_type="text/plain; charset=utf-8")
        return Response(json.dumps(answer.body if answer.body is not None else {}), answer.status, answer.headers,
                        content_type="application/json")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server() -> Scripted:
    return Scripted()


@pytest.fixture
def url(server: Scripted) -> Iterator[str]:
    with serve_app(server.app) as base:
        yield base


@pytest.fixture
def waits() -> Waits:
    return Waits()


class Acme(HttpClient):
    name = "acme"
    vendor = "Acme"


def make(url: str, waits: Waits, **kwargs: Any) -> Acme:
    kwargs.setdefault("auth", TokenAuth(TOKEN))
    kwargs.setdefault("retry", INSTANT)
    return Acme(url, sleep=waits.sleep, clock=waits.clock, **kwargs)


# ── the client ───────────────────────────────────────────────────────────────────────────


async def test_requests_carry_auth_and_user_agent_over_one_pooled_connection(url: str, server: Scripted,
                                                                             waits: Waits) -> None:
    async with make(url + "/api/", waits, headers={"X-Api-Version": "7"}) as acme:
        first = await acme.request("GET", "/items", params={"page": "1"})
        second = await acme.request("POST", "/items", json={"name": "x"}, what="creating an item")

    assert first.json() == {"ok": True, "path": "/api/items"} and second.status_code == 200
    get, post = server.seen
    for seen in (get, post):
        assert seen.headers["authorization"] == f"Bearer {TOKEN}"
        assert seen.headers["user-agent"] == USER_AGENT and USER_AGENT.startswith("autofixer/")
        assert seen.headers["accept"] == "application/json" and seen.headers["x-api-version"] == "7"
    assert post.body == {"name": "x"}
    assert get.port == post.port  # the second call reused the first one's connection
    assert waits.waits == []


async def test_token_auth_with_another_header_and_no_scheme(url: str, server: Scripted, waits: Waits) -> None:
    async with make(url, waits, auth=TokenAuth(TOKEN, header="PRIVATE-TOKEN", scheme="")) as acme:
        await acme.request("GET", "/user")
    assert server.seen[0].headers["private-token"] == TOKEN and "authorization" not in server.seen[0].headers
    assert TOKEN not in repr(acme) and TOKEN not in repr(acme.auth)


async def test_retry_after_seconds_is_honoured(url: str, server: Scripted, waits: Waits) -> None:
    server.then(503, {"message": "maintenance"}, {"Retry-After": "7"})
    async with make(url, waits) as acme:
        response = await acme.request("GET", "/items")
    assert response.status_code == 200 and waits.waits == [7.0] and len(server.seen) == 2


async def test_retry_after_http_date_is_honoured(url: str, server: Scripted, waits: Waits) -> None:
    server.then(429, headers={"Retry-After": email.utils.formatdate(NOW + 30, usegmt=True)})
    async with make(url, waits) as acme:
        await acme.request("GET", "/items")
    assert waits.waits == [30.0]


async def test_429_then_200_backs_off_with_jitter_when_no_hint(url: str, server: Scripted, waits: Waits) -> None:
    server.then(429, {"message": "too many requests"})
    async with make(url, waits, retry=RetryPolicy(initial_wait=2.0)) as acme:
        response = await acme.request("GET", "/items")
    assert response.json()["ok"] is True
    [wait] = waits.waits
    assert 2.0 <= wait <= 4.0  # the first step plus up to one step of jitter


@pytest.mark.parametrize(("value", "expected"), [("12", 12.0), (str(int(NOW) + 45), 45.0)])
async def test_ratelimit_reset_as_delta_or_epoch(url: str, server: Scripted, waits: Waits, value: str,
                                                 expected: float) -> None:
    server.then(429, headers={"RateLimit-Reset": value})
    async with make(url, waits) as acme:
        await acme.request("GET", "/items")
    assert waits.waits == [expected]


async def test_5xx_exhaustion_is_a_retryable_error_naming_the_status(url: str, server: Scripted,
                                                                     waits: Waits) -> None:
    for status in (500, 502, 503):
        server.then(status, {"error": "upstream down"})
    async with make(url, waits) as acme:
        with pytest.raises(HttpError) as caught:
            await acme.request("GET", "/items", what="listing items")

    error = caught.value
    assert error.retryable and error.status == 503 and len(server.seen) == 3
    assert str(error) == (f"Acme API at {url} unavailable for listing items after 3 attempts; "
                          "last error: HTTP 503 Service Unavailable: upstream down")
    assert waits.waits == [1.0, 2.0]  # exponential (jitter 0 in this policy)


async def test_401_fails_at_once_without_retry(url: str, server: Scripted, waits: Waits) -> None:
    server.then(401, {"message": "Bad credentials", "documentation_url": "https://docs.example/rest"},
                {"Retry-After": "5"})  # even when the answer suggests coming back
    async with make(url, waits) as acme:
        with pytest.raises(HttpError) as caught:
            await acme.request("GET", "/user", what="reading the user")

    assert caught.value.status == 401 and not caught.value.retryable
    assert str(caught.value) == ("Acme API answered 401 Unauthorized for reading the user: check the credentials "
                                 "(they may be wrong, expired or revoked) (Acme said: Bad credentials)")
    assert len(server.seen) == 1 and waits.waits == []


async def test_403_and_404_fail_at_once_other_4xx_are_not_retried_either(url: str, server: Scripted,
                                                                          waits: Waits) -> None:
    server.then(403, {"message": "Resource not accessible"}).then(404, {"message": "Not Found"})
    server.then(400, {"detail": "Values must be numbers."})
    async with make(url, waits) as acme:
        for status, said in ((403, "Resource not accessible"), (404, "Not Found"), (400, "Values must be numbers.")):
            with pytest.raises(HttpError) as caught:
                await acme.request("GET", "/x")
            assert caught.value.status == status and f"(Acme said: {said})" in str(caught.value)
    assert len(server.seen) == 3 and waits.waits == []


async def test_which_statuses_fail_at_once_is_configurable(url: str, server: Scripted, waits: Waits) -> None:
    server.then(503, headers={"Retry-After": "1"})
    async with make(url, waits, retry=RetryPolicy(fail_fast=frozenset({503}))) as acme:
        with pytest.raises(HttpError) as caught:
            await acme.request("GET", "/x")
    assert caught.value.status == 503 and len(server.seen) == 1 and waits.waits == []


async def test_check_false_hands_back_the_refusal(url: str, server: Scripted, waits: Waits) -> None:
    server.then(422, {"message": "Validation Failed", "errors": [{"message": "already exists"}]})
    async with make(url, waits) as acme:
        response = await acme.request("POST", "/pulls", json={}, check=False)
        assert response.status_code == 422
        assert acme.server_message(response) == "Validation Failed: already exists"


async def test_a_long_hint_is_shortened_or_refused_as_the_policy_says(url: str, server: Scripted,
                                                                      waits: Waits) -> None:
    server.then(429, headers={"Retry-After": "3600"})
    async with make(url, waits, retry=RetryPolicy(max_wait=5.0)) as acme:
        await acme.request("GET", "/x")
    assert waits.waits == [5.0]

    server.then(429, {"message": "slow down"}, {"Retry-After": "3600"})
    waits = Waits()
    async with make(url, waits, retry=RetryPolicy(max_wait=5.0, shorten_long_hints=False)) as polite:
        with pytest.raises(HttpError) as caught:
            await polite.request("GET", "/x", what="listing x")
    assert waits.waits == [] and caught.value.retryable and caught.value.status == 429
    assert "rate limit hit while listing x: it asks to wait 3600s (until 2023-11-14 23:13:20 UTC)" in str(caught.value)


async def test_total_wait_is_capped(url: str, server: Scripted, waits: Waits) -> None:
    for _ in range(3):
        server.then(503, headers={"Retry-After": "40"})
    async with make(url, waits, retry=RetryPolicy(max_attempts=10, max_total_wait=100.0)) as acme:
        with pytest.raises(HttpError) as caught:
            await acme.request("GET", "/x", what="reading x")
    assert waits.waits == [40.0, 40.0] and len(server.seen) == 3  # a third 40 s would pass 100 s
    assert caught.value.retryable and "more than 100s in total" in str(caught.value)


async def test_timeouts_and_refused_connections_are_retried(url: str, server: Scripted, waits: Waits) -> None:
    server.then(200, {"late": True}, delay=1.0)
    async with make(url, waits, timeout=0.2) as acme:
        response = await acme.request("GET", "/slow")
    assert response.json() == {"ok": True, "path": "/slow"} and len(waits.waits) == 1

    async with make(f"http://127.0.0.1:{free_port()}", waits) as nowhere:
        with pytest.raises(HttpError) as caught:
            await nowhere.request("GET", "/x")
    assert caught.value.retryable and caught.value.status is None and "connection failed" in str(caught.value)


async def test_a_subclass_declares_its_vendors_rate_limit(url: str, server: Scripted, waits: Waits) -> None:
    class Vendor(HttpClient):
        name = "vendor"

        def is_rate_limited(self, response: httpx.Response) -> bool:
            return super().is_rate_limited(response) or "slow down" in self.server_message(response)

        def wait_hint(self, response: httpx.Response) -> float | None:
            after = response.headers.get("x-vendor-reset-after")
            return float(after) if after else super().wait_hint(response)

    server.then(403, {"message": "slow down"}, {"x-vendor-reset-after": "2.5"})
    policy = RetryPolicy(fail_fast=frozenset({401}), jitter=0.0)
    async with Vendor(url, retry=policy, sleep=waits.sleep, clock=waits.clock) as vendor:
        await vendor.request("GET", "/x")
    assert waits.waits == [2.5] and len(server.seen) == 2


async def test_rate_limit_floor_for_unhinted_limits(url: str, server: Scripted, waits: Waits) -> None:
    server.then(429).then(429).then(500)
    async with make(url, waits, retry=RetryPolicy(rate_limit_wait=60.0, jitter=0.0, max_wait=3600.0)) as acme:
        await acme.request("GET", "/x")
    assert waits.waits == [60.0, 120.0, 1.0]  # limits double from the floor; a 5xx backs off on its own count


async def test_the_token_never_appears_in_an_error_or_a_log_line(url: str, server: Scripted, waits: Waits,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    encoded = quote(TOKEN, safe="")
    # A server that echoes the token back: in a rate-limit message, raw and URL-encoded, then in errors.
    server.then(429, {"message": f"slow down {TOKEN} ?token={encoded}"}, {"Retry-After": "1"})
    server.then(422, {"message": f"Validation Failed for {TOKEN}", "errors": [{"message": f"bad {TOKEN}"}]})
    errors: list[HttpError] = []
    async with make(url, waits) as acme:
        with pytest.raises(HttpError) as caught:
            await acme.request("POST", f"/echo?token={TOKEN}", json={}, what=f"posting with {TOKEN}")
        errors.append(caught.value)
        for _ in range(3):
            server.then(500, text=f"<html>proxy error {TOKEN}</html>")
        with pytest.raises(HttpError) as caught:
            await acme.request("GET", "/x")
        errors.append(caught.value)
    async with make(f"http://bot:{encoded}@127.0.0.1:{free_port()}", waits, auth=None, retry=RetryPolicy(
            max_attempts=2, jitter=0.0)) as nowhere:
        with pytest.raises(HttpError) as caught:
            await nowhere.request("GET", "/x")
        errors.append(caught.value)

    assert "slow down" in caplog.text and REDACTED in str(errors[0])
    assert encoded != TOKEN
    texts = [caplog.text, repr(acme), repr(nowhere), *(t for e in errors for t in (str(e), repr(e), e.message))]
    for text in texts:
        assert TOKEN not in text and encoded not in text


async def test_basic_auth_secrets_are_scrubbed_too(url: str, server: Scripted, waits: Waits) -> None:
    password = "app-" + "Passw0rdForHttpTests"
    encoded = base64.b64encode(f"bot:{password}".encode()).decode()
    server.then(401, {"error": {"message": f"bad credentials Basic {encoded} ({password})"}})
    async with make(url, waits, auth=BasicAuth("bot", password)) as acme:
        with pytest.raises(HttpError) as caught:
            await acme.request("GET", "/user")
    assert server.seen[0].headers["authorization"] == f"Basic {encoded}"
    assert password not in str(caught.value) and encoded not in str(caught.value)
    assert "bad credentials Basic [redacted]" in str(caught.value)


async def test_plain_text_and_html_error_bodies(url: str, server: Scripted, waits: Waits) -> None:
    server.then(400, text="invalid_payload\n").then(404, text="<html><body>nginx</body></html>")
    server.then(200, text="<html>a login page</html>")
    async with make(url, waits) as acme:
        with pytest.raises(HttpError, match=r"400 Bad Request for POST /hook \(Acme said: invalid_payload\)$"):
            await acme.request("POST", "/hook", json={})
        with pytest.raises(HttpError, match=r"404 Not Found for GET /page: it does not exist"):
            await acme.request("GET", "/page")
        with pytest.raises(HttpError, match=r"non-JSON body \(text/plain; charset=utf-8\) for the page: is the base"):
            acme.json_body(await acme.request("GET", "/page"), what="the page")


async def test_redirects_are_followed_when_asked_and_a_loop_of_them_is_an_error(url: str, server: Scripted,
                                                                              waits: Waits) -> None:
    server.then(301, headers={"Location": f"{url}/renamed/repo"})
    async with make(url, waits, follow_redirects=True) as acme:
        response = await acme.request("GET", "/old/repo")
        assert response.json()["path"] == "/renamed/repo"
        assert server.seen[1].headers["authorization"] == f"Bearer {TOKEN}"  # same origin: auth kept
        for _ in range(25):
            server.then(302, headers={"Location": f"{url}/again?token={TOKEN}"})
        with pytest.raises(HttpError) as caught:
            await acme.request("GET", "/loop", what="reading the loop")
    assert not caught.value.retryable and "TooManyRedirects" in str(caught.value) and waits.waits == []
    assert str(caught.value).startswith("Acme API call failed while reading the loop")


# ── the shared connection pool ───────────────────────────────────────────────────────────


async def test_a_borrowed_client_is_used_and_never_closed(url: str, server: Scripted, waits: Waits) -> None:
    async with httpx.AsyncClient() as http:
        async with make(url, waits, http=http) as acme:
            await acme.request("GET", "/x")
        assert not http.is_closed
    assert server.seen[0].headers["authorization"] == f"Bearer {TOKEN}"  # auth goes per request


def test_one_client_serves_successive_event_loops(url: str, server: Scripted, waits: Waits) -> None:
    """A process-wide connector outlives `asyncio.run` (one per CLI command): a new loop gets
    a new pool instead of a connection bound to a closed loop."""
    acme = make(url, waits)

    async def call() -> int:
        return (await acme.request("GET", "/x")).status_code

    assert asyncio.run(call()) == 200 and asyncio.run(call()) == 200
    asyncio.run(acme.aclose())
    assert len(server.seen) == 2


async def test_a_closed_client_can_be_used_again(url: str, server: Scripted, waits: Waits) -> None:
    acme = make(url, waits)
    await acme.request("GET", "/x")
    await acme.aclose()
    await acme.aclose()  # idempotent
    assert (await acme.request("GET", "/x")).status_code == 200
    await acme.aclose()


# ── units ────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("body", "expected"), [
    ({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, "Bad credentials"),
    ({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}]},
     "Validation Failed: PullRequest head invalid"),
    ({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom",
                                                  "message": "A pull request already exists for a:b."}]},
     "Validation Failed: A pull request already exists for a:b."),
    ({"message": ["Another open merge request already exists for this source branch: !38"]},
     "Another open merge request already exists for this source branch: !38"),  # GitLab, an array
    ({"message": {"title": ["can't be blank"], "base": ["is invalid"]}},
     "title can't be blank; base is invalid"),  # GitLab, a field map
    ({"detail": "Invalid token"}, "Invalid token"),  # Sentry
    ({"detail": [{"loc": ["body", "x"], "msg": "field required"}]}, "field required"),  # FastAPI
    ({"type": "error", "error": {"message": "Repository not found", "detail": "no access"}},
     "Repository not found: no access"),  # Bitbucket Cloud
    ({"errors": [{"context": None, "message": "Duplicate PR", "exceptionName": "x.DuplicatePullRequestException"}]},
     "Duplicate PR"),  # Bitbucket Data Center
    ({"error": "invalid_grant", "error_description": "The token expired"}, "invalid_grant: The token expired"),
    ({"message": "You are being rate limited.", "retry_after": 64.57, "global": False},
     "You are being rate limited."),  # Discord
    ({"err": 1}, ""),
    ("invalid_payload", "invalid_payload"),  # Slack, plain text
    (None, ""),
])
def test_error_message_extraction(body: Any, expected: str) -> None:
    assert error_message(body) == expected


def test_backoff_grows_has_jitter_and_a_cap() -> None:
    policy = RetryPolicy(initial_wait=1.0, max_wait=3.0)
    for _ in range(50):
        assert 1.0 <= policy.backoff(0) <= 2.0 and 2.0 <= policy.backoff(1) <= 3.0 and policy.backoff(2) == 3.0
    assert RetryPolicy(jitter=0.0).backoff(3) == 8.0


def test_policy_and_base_url_are_validated() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="Acme API base URL must start with http"):
        Acme("ftp://example.com")
    assert Acme("https://api.example.com/v1/").base_url == "https://api.example.com/v1"
