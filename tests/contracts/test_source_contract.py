"""The ErrorSource contract (sources/base.py), run against every error tracker.

Webhook cases are fed the real recorded deliveries in shared/fixtures (signed the way the
tracker signs them); API cases talk real HTTP on 127.0.0.1 to a local fake of the tracker's
REST API that serves real recorded events and issues. The source under test is built the way
the service builds it: a `sources:` entry plus environment variables, through the registry.

Adding a source (Datadog, Rollbar, …): write its fake in tests/fakes/, subclass
`SourceHarness` below and add the class to `SOURCES`; every case then runs against it. The
subclass is mostly tables (which recorded deliveries start a fix and what they must yield, which
are ignored, which fields to break) plus six short methods: start the fake, the config entry,
the environment, load a fixture, sign a delivery the way the tracker does, fail API calls. See
`SentryHarness`. A case the new source gets wrong goes in its KNOWN_BUGS (a strict xfail).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import logging
import re
from abc import abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

import pytest
from werkzeug.datastructures import Headers

from domain import ErrorEvent, Issue
from scm.base import ScmError
from scm.git_push import check_branch
from server.config import BehaviorConfig, ConfigError
from server.pipeline.pr_text import branch_name
from sources.base import Delivery, DeliveryRejected, ErrorSource, FixRequest, SourceError
from sources.sentry.webhook import sign
from sources.shared_secret import HEADER as TOKEN_HEADER
from tests.contracts.support import (
    Harness,
    assert_secret_free,
    build_connector,
    cases,
    exception_texts,
    harness_fixture,
    http_pools,
    is_valid_branch_name,
)
from tests.fakes.datadog_api import FakeDatadog
from tests.fakes.datadog_api import load as load_datadog
from tests.fakes.rollbar_api import FakeRollbar, add_pyrollbar_item
from tests.fakes.rollbar_api import webhooks as rollbar_webhooks
from tests.fakes.sentry_api import FakeSentry, load_fixture
from tests.fakes.serve import serve_app

OTHER_SECRET = "not-the-" + "configured-secret-0123"


class Wanted(NamedTuple):
    """What fix_request must make of a starting delivery."""

    issue_id: str
    project: str | None  # None: the delivery does not name it


class SourceHarness(Harness):
    """One error tracker and its fake.

    Case ids name deliveries: a recorded fixture's stem, or `<stem>:<variant>` for that fixture
    with one value replaced (`VARIANTS`: another action, a field of the wrong type or shape).
    """

    STARTING: ClassVar[dict[str, Wanted]]  # deliveries that ask for a fix, and what they ask
    IGNORED: ClassVar[list[str]]  # deliveries acknowledged and ignored (the first must be a real one)
    WRONG_TYPES: ClassVar[list[str]]  # deliveries with a field of the wrong type or shape: 400
    VARIANTS: ClassVar[dict[str, tuple[tuple[str | int, ...], Any]]] = {}  # variant: (JSON path, new value)
    EVENT_ISSUES: ClassVar[list[str]]  # issues whose latest event the fake serves (with frames)
    PROJECT: ClassVar[str]  # a project some of those issues belong to
    MISSING_ISSUE: ClassVar[str] = "999999999"
    API_TOKEN_ENV: ClassVar[str]  # the variables `env()` sets: the API token, the webhook secret
    WEBHOOK_SECRET_ENV: ClassVar[str]
    SIGNS_BODY: ClassVar[bool] = True  # the signature covers the body (HMAC), not just a shared token
    BAD_TOKEN_STATUS: ClassVar[int] = 401  # what the tracker answers a wrong API token (Datadog: 403)
    # Source names the configuration accepts; job ids and branch names are made from them.
    CONFIGURED_NAMES: ClassVar[list[str]] = ["Sentry Prod", "team/../x", "a:b"]

    # ── what each source implements ──────────────────────────────────────────────────────

    @abstractmethod
    def serve(self) -> contextlib.AbstractContextManager[None]:
        """Start the fake API; `entry()` may use its URL while this is open."""

    @abstractmethod
    def entry(self) -> dict[str, Any]:
        """The `sources:` entry a user would write (with a `name`)."""

    @abstractmethod
    def env(self) -> dict[str, str]:
        """The environment: API_TOKEN_ENV and WEBHOOK_SECRET_ENV."""

    @abstractmethod
    def fixture(self, stem: str) -> Any:
        """The recorded delivery body called `stem`, parsed."""

    @abstractmethod
    def deliver(self, stem: str, body: bytes, secret: str | None) -> Delivery:
        """`body` with the headers the tracker sends with fixture `stem`, authenticated with
        `secret` as the tracker does it (None: not authenticated at all)."""

    @abstractmethod
    def fail_next(self, issue_id: str, *statuses: int) -> None:
        """Answer the next API calls about `issue_id` with these statuses."""

    # ── shared ───────────────────────────────────────────────────────────────────────────

    def source(self, env: dict[str, str] | None = None, **entry: Any) -> ErrorSource:
        source: ErrorSource = build_connector("sources", {**self.entry(), **entry},
                                              self.env() if env is None else env)
        return source

    def delivery(self, case: str, *, body: bytes | None = None, secret: str | None = "configured") -> Delivery:
        """Case `case` as the tracker delivers it, authenticated with `secret` ("configured":
        the configured secret). `body` replaces the case's body, the headers staying the same."""
        stem, _, variant = case.partition(":")
        payload = copy.deepcopy(self.fixture(stem))
        if variant:
            (*parents, last), value = self.VARIANTS[variant]
            target = payload
            for key in parents:
                target = target[key]
            target[last] = value
        raw = json.dumps(payload).encode() if body is None else body
        return self.deliver(stem, raw, self.env()[self.WEBHOOK_SECRET_ENV] if secret == "configured" else secret)

    def issue_ids(self) -> list[str]:
        return list(dict.fromkeys([*(w.issue_id for w in self.STARTING.values()), *self.EVENT_ISSUES]))


# ── Sentry ───────────────────────────────────────────────────────────────────────────────────

ISSUE_ID = ("data", "issue", "id")


class SentryHarness(SourceHarness):
    kind = "sentry"
    STARTING: ClassVar[dict[str, Wanted]] = {
        "webhook-issue-created": Wanted("1170820242", "front-end"),
        "webhook-error-created": Wanted("1170820242", "front-end"),
        "webhook-event-alert-triggered": Wanted("1117540176", "front-end"),
        "webhook-issue-created:numeric-id": Wanted("1170820242", "front-end"),
    }
    IGNORED: ClassVar[list[str]] = ["webhook-installation-created", "webhook-issue-created:resolved"]
    WRONG_TYPES: ClassVar[list[str]] = [
        "webhook-issue-created:data-a-string", "webhook-issue-created:issue-a-list",
        "webhook-issue-created:id-a-list", "webhook-issue-created:id-a-bool", "webhook-issue-created:id-a-path",
        "webhook-event-alert-triggered:event-null", "webhook-event-alert-triggered:id-an-object",
        "webhook-issue-created:id-in-arabic-indic-digits", "webhook-error-created:id-in-superscript-digits",
    ]
    VARIANTS: ClassVar[dict[str, tuple[Any, Any]]] = {
        "numeric-id": (ISSUE_ID, 1170820242),
        "resolved": (("action",), "resolved"),
        "data-a-string": (("data",), "nope"),
        "issue-a-list": (("data", "issue"), [{"id": "1170820242"}]),
        "id-a-list": (ISSUE_ID, ["1170820242"]),
        "id-a-bool": (ISSUE_ID, True),
        "id-a-path": (ISSUE_ID, "../../etc/passwd"),
        "event-null": (("data", "event"), None),
        "id-an-object": (("data", "event", "issue_id"), {"id": "1117540176"}),
        "id-in-arabic-indic-digits": (ISSUE_ID, "\u0661\u0667"),
        "id-in-superscript-digits": (("data", "error", "issue_id"), "\u00b9\u00b2"),
    }
    EVENT_ISSUES: ClassVar[list[str]] = ["64", "58", "71", "297", "6507376925", "6042731264", "1341191803"]
    PROJECT = "django-app"
    API_TOKEN_ENV, WEBHOOK_SECRET_ENV = "AUTOFIXER_SENTRY_TOKEN", "AUTOFIXER_WEBHOOK_SECRET"
    KNOWN_BUGS: ClassVar[dict[str, str]] = {}
    RESOURCES: ClassVar[dict[str, str]] = {"webhook-issue-created": "issue", "webhook-error-created": "error",
                 "webhook-event-alert-triggered": "event_alert", "webhook-installation-created": "installation"}

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        self.fake = FakeSentry(token=self.env()[self.API_TOKEN_ENV], org="acme")
        with serve_app(self.fake.app) as url:
            self.url = url
            yield

    def entry(self) -> dict[str, Any]:
        return {"type": "sentry", "name": "contract-sentry", "base-url": self.url, "org": "acme"}

    def env(self) -> dict[str, str]:  # built at run time: no token-shaped literal in the repository
        return {self.API_TOKEN_ENV: "sntrys_" + "ContractSuiteToken0123456789",
                self.WEBHOOK_SECRET_ENV: "contract-" + "webhook-secret-abcdef"}

    def fixture(self, stem: str) -> Any:
        return load_fixture(f"{stem}.json")

    def deliver(self, stem: str, body: bytes, secret: str | None) -> Delivery:
        headers = Headers({"Content-Type": "application/json", "Sentry-Hook-Resource": self.RESOURCES[stem],
                           "Sentry-Hook-Timestamp": "1700000000", "Request-ID": "contract"})
        if secret is not None:
            headers["Sentry-Hook-Signature"] = sign(body, secret)
        return Delivery(headers=headers, body=body, content_type="application/json")

    def fail_next(self, issue_id: str, *statuses: int) -> None:
        self.fake.fail_next(issue_id, *statuses)


# ── Datadog ──────────────────────────────────────────────────────────────────────────────────

DD_PYTHON_ISSUE = "0b3c5a7e-1d2f-4e60-9a8b-7c6d5e4f3a21"


class DatadogHarness(SourceHarness):
    """Deliveries are the recorded monitor webhook (Datadog's default payload, which names no
    issue) and that payload with the fields README's template adds (`issue_id`, `link`, …)."""

    kind = "datadog"
    STARTING: ClassVar[dict[str, Wanted]] = {
        "monitor-default-payload:issue-id": Wanted(DD_PYTHON_ISSUE, None),
        "monitor-default-payload:issue-link": Wanted(DD_PYTHON_ISSUE, None),
        "monitor-default-payload:issue-in-body": Wanted(DD_PYTHON_ISSUE, None),
    }
    IGNORED: ClassVar[list[str]] = ["monitor-default-payload", "monitor-default-payload:recovered"]
    WRONG_TYPES: ClassVar[list[str]] = [
        "monitor-default-payload:id-a-number", "monitor-default-payload:id-a-path",
        "monitor-default-payload:id-a-list", "monitor-default-payload:title-an-object",
    ]
    VARIANTS: ClassVar[dict[str, tuple[Any, Any]]] = {
        "issue-id": (("issue_id",), DD_PYTHON_ISSUE),
        "issue-link": (("link",), f"https://app.datadoghq.com/error-tracking?issueId={DD_PYTHON_ISSUE}&refresh=1"),
        "issue-in-body": (("body",), f"%%%\nNew issue: [open](https://app.datadoghq.com/error-tracking/issue/"
                                      f"{DD_PYTHON_ISSUE})\n%%%"),
        "recovered": (("transition",), "Recovered"),
        "id-a-number": (("issue_id",), 12),
        "id-a-path": (("issue_id",), "../../etc/passwd"),
        "id-a-list": (("issue_id",), [DD_PYTHON_ISSUE]),
        "title-an-object": (("title",), {"a": 1}),
    }
    EVENT_ISSUES: ClassVar[list[str]] = [DD_PYTHON_ISSUE]  # the recorded browser issue has no frames at all
    PROJECT = "fastapi"
    MISSING_ISSUE = "00000000-0000-4000-8000-000000000000"
    API_TOKEN_ENV, WEBHOOK_SECRET_ENV = "AUTOFIXER_DATADOG_API_KEY", "AUTOFIXER_DATADOG_WEBHOOK_SECRET"
    SIGNS_BODY = False
    BAD_TOKEN_STATUS = 403  # Datadog's answer to a wrong key: 403 {"errors": ["Forbidden"]}

    def fixture(self, stem: str) -> Any:
        payload = dict(load_datadog("relay-integrations__monitor-webhook-default-payload_test-notification.json")[0])
        if stem == "monitor-default-payload":
            return payload
        raise KeyError(stem)

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        env = self.env()
        self.fake = FakeDatadog(api_key=env[self.API_TOKEN_ENV], app_key=env["AUTOFIXER_DATADOG_APP_KEY"])
        with serve_app(self.fake.app) as url:
            self.url = url
            yield

    def entry(self) -> dict[str, Any]:
        return {"type": "datadog", "name": "contract-datadog", "base-url": self.url}

    def env(self) -> dict[str, str]:
        return {self.API_TOKEN_ENV: "dd-api-" + "0123456789abcdef0123456789abcdef",
                "AUTOFIXER_DATADOG_APP_KEY": "dd-app-" + "fedcba9876543210fedcba9876543210fedcba98",
                self.WEBHOOK_SECRET_ENV: "contract-" + "datadog-secret-abcdef"}

    def deliver(self, stem: str, body: bytes, secret: str | None) -> Delivery:
        headers = Headers({"Content-Type": "application/json"})
        if secret is not None:
            headers[TOKEN_HEADER] = secret
        return Delivery(headers=headers, body=body, content_type="application/json")

    def fail_next(self, issue_id: str, *statuses: int) -> None:
        self.fake.fail_next(issue_id, *statuses)


# ── Rollbar ──────────────────────────────────────────────────────────────────────────────────

RB_ITEM = ("data", "item", "id")


class RollbarHarness(SourceHarness):
    """Deliveries are the recorded Rollbar webhooks; the token rides in the URL's query, the one
    place a Rollbar webhook can carry it."""

    kind = "rollbar"
    STARTING: ClassVar[dict[str, Wanted]] = {
        "new_item": Wanted("272716944", "backend"),
        "occurrence": Wanted("402860571", "backend"),
        "exp_repeat_item": Wanted("496445267", "backend"),
        "reactivated_item": Wanted("495300143", "backend"),
    }
    IGNORED: ClassVar[list[str]] = ["deploy", "item_velocity", "new_item:resolved"]
    WRONG_TYPES: ClassVar[list[str]] = ["new_item:id-a-string", "new_item:id-a-bool", "new_item:item-a-list",
                                        "new_item:event-a-number", "occurrence:data-null"]
    VARIANTS: ClassVar[dict[str, tuple[Any, Any]]] = {
        "resolved": (("event_name",), "resolved_item"),
        "id-a-string": (RB_ITEM, "../272716944"),
        "id-a-bool": (RB_ITEM, True),
        "item-a-list": (("data", "item"), [1]),
        "event-a-number": (("event_name",), 3),
        "data-null": (("data",), None),
    }
    EVENT_ISSUES: ClassVar[list[str]] = ["402860571", "1700000001"]
    PROJECT = "backend"
    API_TOKEN_ENV, WEBHOOK_SECRET_ENV = "AUTOFIXER_ROLLBAR_TOKEN", "AUTOFIXER_ROLLBAR_WEBHOOK_SECRET"
    SIGNS_BODY = False

    def fixture(self, stem: str) -> Any:
        return copy.deepcopy(rollbar_webhooks()[stem])

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        self.fake = FakeRollbar(token=self.env()[self.API_TOKEN_ENV])
        add_pyrollbar_item(self.fake, "1700000001")
        with serve_app(self.fake.app) as url:
            self.url = url
            yield

    def entry(self) -> dict[str, Any]:
        return {"type": "rollbar", "name": "contract-rollbar", "base-url": self.url, "account": "acme",
                "project": "backend"}

    def env(self) -> dict[str, str]:
        return {self.API_TOKEN_ENV: "rb-" + "0123456789abcdef0123456789abcdef",
                self.WEBHOOK_SECRET_ENV: "contract-" + "rollbar-secret-abcdef"}

    def deliver(self, stem: str, body: bytes, secret: str | None) -> Delivery:
        query = {"token": secret} if secret is not None else {}
        return Delivery(headers=Headers({"Content-Type": "application/json"}), body=body,
                        content_type="application/json", query=query)

    def fail_next(self, issue_id: str, *statuses: int) -> None:
        self.fake.fail_next(issue_id, *statuses)


SOURCES: list[type[SourceHarness]] = [SentryHarness, DatadogHarness, RollbarHarness]


# ── fixtures ─────────────────────────────────────────────────────────────────────────────────


tracker = harness_fixture("tracker", SOURCES)


def per_case(*attrs: str) -> Any:
    """Parametrise over every source and each case id its harness lists in `attrs`."""
    params = cases(SOURCES, lambda h: [case for attr in attrs for case in getattr(h, attr)])
    return pytest.mark.parametrize(("tracker", "case"), params, indirect=["tracker"])


def any_starting(tracker: SourceHarness) -> str:
    return next(iter(tracker.STARTING))


# Bodies that are not a delivery at all, sent with a starting delivery's headers and signature
# (None: that delivery's own body, cut in half).
NOT_A_DELIVERY: dict[str, bytes | None] = {
    "truncated-json": None,
    "empty": b"",
    "not-utf8": b"\xff\xfe\x00{ not json",
    "not-json": b"action=created&data=1",
    "json-array": b"[1, 2, 3]",
    "json-null": b"null",
    "json-string": b'"created"',
    "deeply-nested-objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "deeply-nested-arrays": b'{"action": "created", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "integer-beyond-python-limit": b'{"action": "created", "data": {"issue": {"id": ' + b"9" * 5000 + b"}}}",
}


def test_is_an_error_source_named_as_configured(tracker: SourceHarness) -> None:
    source = tracker.source()
    assert isinstance(source, ErrorSource)
    assert source.kind == tracker.kind and source.name == tracker.entry()["name"] and source.label
    assert all(secret not in repr(source) for secret in tracker.env().values())


# ── verify ───────────────────────────────────────────────────────────────────────────────────


@per_case("STARTING", "IGNORED")
def test_verify_accepts_an_authentic_delivery(tracker: SourceHarness, case: str) -> None:
    tracker.source().verify(tracker.delivery(case))


def test_verify_rejects_unauthenticated_deliveries_with_401(tracker: SourceHarness) -> None:
    source, case = tracker.source(), any_starting(tracker)
    authentic = tracker.delivery(case)
    forged = {
        "missing": tracker.delivery(case, secret=None),
        "another secret": tracker.delivery(case, secret=OTHER_SECRET),
    }
    if tracker.SIGNS_BODY:
        forged["body changed after signing"] = dataclasses.replace(authentic, body=authentic.body + b" ")
        forged["another delivery's signature"] = dataclasses.replace(
            authentic, body=tracker.delivery(tracker.IGNORED[0]).body)
    for what, delivery in forged.items():
        with pytest.raises(DeliveryRejected) as err:
            source.verify(delivery)
        assert (err.value.status, err.value.outcome) == (401, "bad_signature"), what


def test_verify_fails_closed_without_a_configured_secret(tracker: SourceHarness) -> None:
    env = {k: v for k, v in tracker.env().items() if k != tracker.WEBHOOK_SECRET_ENV}
    with pytest.raises(DeliveryRejected) as err:
        tracker.source(env=env).verify(tracker.delivery(any_starting(tracker)))
    assert err.value.status == 401


# ── fix_request ──────────────────────────────────────────────────────────────────────────────


@per_case("STARTING")
def test_a_starting_delivery_is_a_fix_request(tracker: SourceHarness, case: str) -> None:
    source = tracker.source()
    wanted = tracker.STARTING[case]

    request = source.fix_request(tracker.delivery(case))

    assert isinstance(request, FixRequest)
    assert (request.issue_id, request.project) == wanted
    assert request.trigger and isinstance(request.title, str)
    check_branch(branch_name(BehaviorConfig(), source, request.issue_id))  # what the job will push


@per_case("IGNORED")
def test_a_delivery_that_asks_for_nothing_is_none(tracker: SourceHarness, case: str) -> None:
    assert tracker.source().fix_request(tracker.delivery(case)) is None


@pytest.mark.parametrize("body", NOT_A_DELIVERY.values(), ids=NOT_A_DELIVERY.keys())
def test_a_body_that_is_not_a_delivery_is_rejected_with_400(tracker: SourceHarness, body: bytes | None) -> None:
    if body is None:
        whole = tracker.delivery(any_starting(tracker)).body
        body = whole[: len(whole) // 2]
    delivery = tracker.delivery(any_starting(tracker), body=body)
    tracker.source().verify(delivery)  # authentic: it is the body that is wrong
    with pytest.raises(DeliveryRejected) as err:
        tracker.source().fix_request(delivery)
    assert (err.value.status, err.value.outcome) == (400, "malformed")
    assert str(err.value)


@per_case("WRONG_TYPES")
def test_a_field_of_the_wrong_type_is_rejected_with_400(tracker: SourceHarness, case: str) -> None:
    with pytest.raises(DeliveryRejected) as err:
        tracker.source().fix_request(tracker.delivery(case))
    assert (err.value.status, err.value.outcome) == (400, "malformed")


def test_a_body_that_is_not_json_by_content_type_is_rejected(tracker: SourceHarness) -> None:
    delivery = dataclasses.replace(tracker.delivery(any_starting(tracker)), content_type="text/plain")
    with pytest.raises(DeliveryRejected) as err:
        tracker.source().fix_request(delivery)
    assert err.value.status in (400, 415)


# ── the API: events and issues ───────────────────────────────────────────────────────────────


@per_case("EVENT_ISSUES")
async def test_the_latest_event_parses_into_an_error_event_with_frames(tracker: SourceHarness, case: str) -> None:
    source = tracker.source()

    raw = await source.fetch_event(case)
    event = source.parse_event(raw, case)

    assert isinstance(event, ErrorEvent)
    assert event.issue_id == case and event.issue_url == source.issue_url(case)
    assert event.error_type and event.stack_trace
    assert all(frame.filename or frame.function for frame in event.stack_trace)
    # What a durable step records is JSON; re-parsing the record gives the same event.
    assert source.parse_event(json.loads(json.dumps(raw)), case) == event


async def test_issues_are_fetched_and_listed_as_domain_issues(tracker: SourceHarness) -> None:
    source = tracker.source()
    issue_id = tracker.EVENT_ISSUES[0]

    issue = source.parse_issue(await source.fetch_issue(issue_id))
    assert isinstance(issue, Issue) and issue.id == issue_id and issue.title

    listed = await source.list_issues()
    assert listed and all(isinstance(i, Issue) and i.id for i in listed)
    assert set(tracker.EVENT_ISSUES) <= {i.id for i in listed}
    in_project = await source.list_issues(project=tracker.PROJECT)
    assert in_project and all(i.project == tracker.PROJECT for i in in_project)
    assert len(await source.list_issues(limit=2)) == 2


async def test_calls_share_one_connection_pool_until_aclose(
    tracker: SourceHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools = http_pools(monkeypatch)
    source, issue_id = tracker.source(), tracker.EVENT_ISSUES[0]
    await source.fetch_issue(issue_id)
    await source.fetch_event(issue_id)
    await source.list_issues()
    assert len(pools) == 1  # one pool and one SSL context for every call, not one per call
    await source.aclose()
    assert pools[0].is_closed


async def test_a_missing_issue_is_a_not_found_source_error(tracker: SourceHarness) -> None:
    source = tracker.source()
    for call in (source.fetch_event(tracker.MISSING_ISSUE), source.fetch_issue(tracker.MISSING_ISSUE)):
        with pytest.raises(SourceError) as err:
            await call
        assert err.value.not_found and err.value.status == 404 and err.value.reason


async def test_a_transient_failure_is_retried_and_an_outage_is_a_source_error(tracker: SourceHarness) -> None:
    source, issue_id = tracker.source(), tracker.EVENT_ISSUES[0]
    tracker.fail_next(issue_id, 502)
    assert await source.fetch_event(issue_id)

    tracker.fail_next(issue_id, *[503] * 20)
    with pytest.raises(SourceError) as err:
        await source.fetch_event(issue_id)
    assert not err.value.not_found and err.value.status == 503


async def test_without_its_api_token_fetching_is_a_source_error(tracker: SourceHarness) -> None:
    env = {k: v for k, v in tracker.env().items() if k != tracker.API_TOKEN_ENV}
    with pytest.raises(SourceError) as err:
        await tracker.source(env=env).fetch_event(tracker.EVENT_ISSUES[0])
    assert tracker.API_TOKEN_ENV in err.value.reason  # says what to set


async def test_a_wrong_token_is_a_401_and_no_secret_leaks(
    tracker: SourceHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source = tracker.source()
    stranger = tracker.source(env={**tracker.env(), tracker.API_TOKEN_ENV: OTHER_SECRET})
    errors: list[BaseException] = []
    issue_id = tracker.EVENT_ISSUES[0]
    tracker.fail_next(issue_id, *[503] * 20)
    for call in (stranger.fetch_event(issue_id), stranger.list_issues(), source.fetch_event(issue_id),
                 source.fetch_issue(tracker.MISSING_ISSUE)):
        with pytest.raises(SourceError) as err:
            await call
        errors.append(err.value)
    with pytest.raises(DeliveryRejected) as rejected:
        source.verify(tracker.delivery(any_starting(tracker), secret=OTHER_SECRET))
    errors.append(rejected.value)

    bad = tracker.BAD_TOKEN_STATUS
    assert [e.status for e in errors] == [bad, bad, 503, 404, 401]
    assert_secret_free([repr(source), repr(stranger), caplog.text, *exception_texts(errors)],
                       [*tracker.env().values(), OTHER_SECRET])


# ── names derived from an issue ──────────────────────────────────────────────────────────────

_TRAILER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*: \S+$")


def test_job_id_and_branch_are_stable_distinct_and_safe(tracker: SourceHarness) -> None:
    source, rebuilt = tracker.source(), tracker.source()  # e.g. another replica, or after a restart
    ids = tracker.issue_ids()
    for issue_id in ids:
        assert source.job_id(issue_id) == rebuilt.job_id(issue_id)
        assert source.job_id(issue_id).startswith(f"{source.name}:")
        assert source.branch_suffix(issue_id) == rebuilt.branch_suffix(issue_id)
        branch = branch_name(BehaviorConfig(), source, issue_id)
        check_branch(branch)
        assert is_valid_branch_name(branch), branch
    assert len({source.job_id(i) for i in ids}) == len({source.branch_suffix(i) for i in ids}) == len(ids)


@per_case("CONFIGURED_NAMES")
def test_a_name_the_configuration_accepts_gives_safe_branches(tracker: SourceHarness, case: str) -> None:
    try:
        source = tracker.source(name=case)
    except ConfigError:
        return  # refused at start-up, with a message: fine
    branch = branch_name(BehaviorConfig(), source, tracker.EVENT_ISSUES[0])
    try:
        check_branch(branch)
    except ScmError as exc:
        pytest.fail(f"source name {case!r} was accepted, but its branch is refused at push time: {exc}")


def test_commit_trailer_and_issue_url_name_the_issue(tracker: SourceHarness) -> None:
    source = tracker.source()
    for issue_id in tracker.issue_ids():
        url = source.issue_url(issue_id)
        assert url.startswith(("https://", "http://")) and issue_id in url
        for trailer in (source.commit_trailer(issue_id, url), source.commit_trailer(issue_id, None)):
            assert _TRAILER.match(trailer), trailer  # one `Key: value` line, as git trailers are
        assert url in source.commit_trailer(issue_id, url)
        assert issue_id in source.commit_trailer(issue_id, None)
