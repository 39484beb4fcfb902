"""SentryClient against the fake Sentry API over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from sources.sentry.client import (
    USER_AGENT,
    RetryPolicy,
    SentryAuthError,
    SentryClient,
    SentryError,
    SentryNotFound,
    SentryUnavailable,
    next_cursor,
)
from tests.fakes.sentry_api import LIST, Failure, FakeSentry, load_fixture
from tests.fakes.serve import serve_app

TOKEN = "sntrys_eyJpYXQiOjE3MDAwMDAwMDB9_s3cr3t"
PYTHON_ISSUE = "64"  # glitchtip python_zero_division.json
MCP_ISSUE = "6507376925"  # sentry-mcp event.json + issue.json


class SleepRecorder:
    """Stands in for asyncio.sleep: records the waits, takes no time."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake() -> FakeSentry:
    return FakeSentry(token=TOKEN, org="acme")


@pytest.fixture
def base_url(fake: FakeSentry) -> Iterator[str]:
    with serve_app(fake.app) as url:
        yield url


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def client(base_url: str, sleeps: SleepRecorder) -> AsyncIterator[SentryClient]:
    async with SentryClient(TOKEN, "acme", base_url, timeout=2.0, sleep=sleeps) as c:
        yield c


# ── happy paths ──────────────────────────────────────────────────────────────────────────


async def test_latest_event_via_org_path(client: SentryClient, fake: FakeSentry) -> None:
    event = await client.latest_event(PYTHON_ISSUE)

    assert event == load_fixture("glitchtip-oss-sentry-python_zero_division.json")
    assert fake.paths() == [f"/api/0/organizations/acme/issues/{PYTHON_ISSUE}/events/latest/"]
    headers = fake.requests[0].headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["user-agent"] == USER_AGENT and USER_AGENT.startswith("autofixer/")


async def test_latest_event_from_nested_fixtures(client: SentryClient) -> None:
    seer = await client.latest_event(6042731264)
    assert seer["title"].startswith("ValidationError") and seer["entries"]
    schema_example = await client.latest_event("1341191803")
    assert schema_example["eventID"] == "9999aaaaca8b46d797c23c6077c6ff01"


async def test_legacy_fallback_when_org_path_404s(base_url: str, fake: FakeSentry) -> None:
    fake.legacy_only = True
    async with SentryClient(TOKEN, "acme", base_url) as client:
        event = await client.latest_event(MCP_ISSUE)
        issue = await client.issue(MCP_ISSUE)

    assert event["eventID"] == "7ca573c0f4814912aaa9bdc77d1a7d51"
    assert issue["shortId"] == "CLOUDFLARE-MCP-41"
    assert fake.paths() == [
        f"/api/0/organizations/acme/issues/{MCP_ISSUE}/events/latest/",
        f"/api/0/issues/{MCP_ISSUE}/events/latest/",
        f"/api/0/organizations/acme/issues/{MCP_ISSUE}/",
        f"/api/0/issues/{MCP_ISSUE}/",
    ]


async def test_issue_details(client: SentryClient, fake: FakeSentry) -> None:
    issue = await client.issue(MCP_ISSUE)

    assert issue == load_fixture("sentry-mcp-issue.json")
    assert fake.paths() == [f"/api/0/organizations/acme/issues/{MCP_ISSUE}/"]


async def test_list_issues_follows_link_header_across_pages(client: SentryClient, fake: FakeSentry) -> None:
    fake.page_size = 4  # 7 issues loaded → pages of 4 + 3

    issues = await client.list_issues(limit=25)

    assert len(issues) == 7 and len({i["id"] for i in issues}) == 7
    assert [i["lastSeen"] for i in issues] == sorted((i["lastSeen"] for i in issues), reverse=True)
    first, second = fake.requests
    assert first.query == {"query": ["is:unresolved"], "limit": ["25"], "sort": ["date"]}
    assert second.query["cursor"] == ["0:4:0"]  # taken from the Link header of page one


async def test_list_issues_stops_at_limit(client: SentryClient, fake: FakeSentry) -> None:
    fake.page_size = 3

    issues = await client.list_issues(limit=5)

    assert len(issues) == 5
    assert len(fake.requests) == 2  # the third page is never fetched


async def test_list_issues_project_filters(client: SentryClient, fake: FakeSentry) -> None:
    by_slug = await client.list_issues(project="seer", query=None)
    by_id = await client.list_issues(project=6178942)

    assert [i["id"] for i in by_slug] == [i["id"] for i in by_id] == ["6042731264"]
    assert fake.requests[0].query["projectSlug"] == ["seer"]
    assert fake.requests[0].query["query"] == [""]  # `query=` lists every status
    assert fake.requests[1].query["project"] == ["6178942"]


async def test_base_url_with_path_prefix_and_trailing_slash() -> None:
    fake = FakeSentry(token=TOKEN, org="acme", path_prefix="/sentry")
    with serve_app(fake.app) as url:
        async with SentryClient(TOKEN, "acme", f"{url}/sentry/") as client:
            event = await client.latest_event(PYTHON_ISSUE)
    assert event["groupID"] == PYTHON_ISSUE
    assert fake.paths() == [f"/sentry/api/0/organizations/acme/issues/{PYTHON_ISSUE}/events/latest/"]


async def test_shared_http_client_is_not_closed(base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        async with SentryClient(TOKEN, "acme", base_url, http=http) as client:
            await client.issue(MCP_ISSUE)
        assert not http.is_closed


# ── retries ──────────────────────────────────────────────────────────────────────────────


async def test_429_retry_after_is_honoured(client: SentryClient, fake: FakeSentry, sleeps: SleepRecorder) -> None:
    fake.fail_next(PYTHON_ISSUE, Failure(429, retry_after="7"))

    event = await client.latest_event(PYTHON_ISSUE)

    assert event["groupID"] == PYTHON_ISSUE
    assert sleeps.waits == [7.0]
    assert len(fake.requests) == 2


async def test_429_rate_limit_reset_is_honoured(base_url: str, fake: FakeSentry, sleeps: SleepRecorder) -> None:
    # sentry.io's API 429s carry no Retry-After, only the epoch second the window resets.
    fake.fail_next(PYTHON_ISSUE, Failure(429, rate_limit_reset=1_000_003))
    async with SentryClient(TOKEN, "acme", base_url, sleep=sleeps, clock=lambda: 1_000_000.5) as client:
        await client.latest_event(PYTHON_ISSUE)
    assert sleeps.waits == [2.5]


async def test_server_hint_is_capped(base_url: str, fake: FakeSentry, sleeps: SleepRecorder) -> None:
    fake.fail_next(PYTHON_ISSUE, Failure(429, retry_after="3600"))
    async with SentryClient(TOKEN, "acme", base_url, sleep=sleeps, retry=RetryPolicy(max_wait=5)) as client:
        await client.latest_event(PYTHON_ISSUE)
    assert sleeps.waits == [5]


async def test_500_500_then_success_with_real_backoff(base_url: str, fake: FakeSentry) -> None:
    fake.fail_next(PYTHON_ISSUE, 500, 502)
    retry = RetryPolicy(initial_wait=0.01, max_wait=0.05)
    async with SentryClient(TOKEN, "acme", base_url, retry=retry) as client:  # real asyncio.sleep
        event = await client.latest_event(PYTHON_ISSUE)
    assert event["groupID"] == PYTHON_ISSUE
    assert len(fake.requests) == 3


async def test_backoff_grows_with_jitter_and_cap(base_url: str, fake: FakeSentry, sleeps: SleepRecorder) -> None:
    fake.fail_next(PYTHON_ISSUE, 503, 503, 503)
    retry = RetryPolicy(initial_wait=1.0, max_wait=3.0)
    async with SentryClient(TOKEN, "acme", base_url, sleep=sleeps, retry=retry) as client:
        await client.latest_event(PYTHON_ISSUE)
    first, second, third = sleeps.waits
    assert 1.0 <= first <= 2.0 <= second <= 3.0  # 1 s, then 2 s, each + up to 1 s of jitter
    assert third == 3.0  # 4 s + jitter, capped


async def test_persistent_500_raises_unavailable(client: SentryClient, fake: FakeSentry) -> None:
    fake.fail_next(PYTHON_ISSUE, *[500] * 10)

    with pytest.raises(SentryUnavailable) as caught:
        await client.latest_event(PYTHON_ISSUE)

    assert len(fake.requests) == 5  # default max_attempts
    assert caught.value.status == 500
    assert "after 5 attempts" in caught.value.reason and "HTTP 500" in caught.value.reason


async def test_timeout_then_success(base_url: str, fake: FakeSentry, sleeps: SleepRecorder) -> None:
    fake.fail_next(PYTHON_ISSUE, Failure(status=None, hang_seconds=0.5))
    async with SentryClient(TOKEN, "acme", base_url, timeout=0.1, sleep=sleeps) as client:
        event = await client.latest_event(PYTHON_ISSUE)
    assert event["groupID"] == PYTHON_ISSUE
    assert len(fake.requests) == 2 and len(sleeps.waits) == 1


async def test_connection_refused_is_unavailable(sleeps: SleepRecorder) -> None:
    from tests.fakes.serve import free_port

    url = f"http://127.0.0.1:{free_port()}"
    async with SentryClient(TOKEN, "acme", url, sleep=sleeps, retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(SentryUnavailable, match="connection failed"):
            await client.issue(1)
    assert len(sleeps.waits) == 2


# ── failures that must not be retried ───────────────────────────────────────────────────


async def test_401_fails_at_once(base_url: str, fake: FakeSentry, sleeps: SleepRecorder) -> None:
    async with SentryClient("sntrys_wrong", "acme", base_url, sleep=sleeps) as client:
        with pytest.raises(SentryAuthError) as caught:
            await client.latest_event(PYTHON_ISSUE)
    assert len(fake.requests) == 1 and sleeps.waits == []
    assert caught.value.status == 401
    assert caught.value.reason == (
        f"Sentry API answered 401 Unauthorized for issue {PYTHON_ISSUE}: check AUTOFIXER_SENTRY_TOKEN "
        "and the integration's Issue & Event read permission (Sentry said: Invalid token)"
    )


async def test_403_is_an_auth_error(client: SentryClient, fake: FakeSentry) -> None:
    fake.fail_next(LIST, 403)
    with pytest.raises(SentryAuthError, match="403 Forbidden for the issue list"):
        await client.list_issues()
    assert len(fake.requests) == 1


async def test_404_is_not_found_after_both_paths(client: SentryClient, fake: FakeSentry) -> None:
    with pytest.raises(SentryNotFound) as caught:
        await client.latest_event("999")
    assert caught.value.status == 404
    assert fake.paths() == [
        "/api/0/organizations/acme/issues/999/events/latest/",
        "/api/0/issues/999/events/latest/",
    ]


async def test_other_4xx_is_a_plain_error(client: SentryClient) -> None:
    with pytest.raises(SentryError, match=r"400 Bad Request.*Values must be numbers") as caught:
        await client._get("/api/0/organizations/acme/issues/", {"project": "x"}, subject="the issue list")
    assert type(caught.value) is SentryError


async def test_token_never_leaks(
    base_url: str, fake: FakeSentry, sleeps: SleepRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next(PYTHON_ISSUE, *[Failure(429, retry_after="1")] * 2, *[500] * 3)
    errors: list[SentryError] = []
    async with SentryClient(TOKEN, "acme", base_url, sleep=sleeps) as client:
        for call in (client.latest_event(PYTHON_ISSUE), client.latest_event("999")):
            with pytest.raises(SentryError) as caught:
                await call
            errors.append(caught.value)
        assert TOKEN not in repr(client)
    async with SentryClient(TOKEN + "x", "acme", base_url) as wrong:
        with pytest.raises(SentryAuthError) as caught:
            await wrong.issue(1)
        errors.append(caught.value)

    assert [type(e) for e in errors] == [SentryUnavailable, SentryNotFound, SentryAuthError]
    for error in errors:
        for text in (str(error), repr(error), error.reason, repr(error.__cause__)):
            assert TOKEN not in text
    assert caplog.records and TOKEN not in caplog.text


# ── unit: Link header parsing ───────────────────────────────────────────────────────────


def test_next_cursor_from_sentry_link_header() -> None:
    header = (
        '<https://sentry.io/api/0/organizations/acme/issues/123456/events/?&cursor=0:0:1>; rel="previous"; '
        'results="false"; cursor="0:0:1", <https://sentry.io/api/0/organizations/acme/issues/123456/events/'
        '?&cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"'
    )
    assert next_cursor(header) == "0:100:0"
    assert next_cursor(header.replace('results="true"', 'results="false"')) is None
    assert next_cursor(None) is None
    assert next_cursor('<https://x/?a=1&cursor=1:5:0>; rel="next"; results="true"') == "1:5:0"
