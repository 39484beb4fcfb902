"""The Sentry parser against every real payload in ../shared/fixtures/sentry/real, plus the
malformed and legacy shapes an attacker or an old SDK can send.

Expected values were read from the fixture files by hand, not produced by the parser.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from domain.event import ErrorEvent
from sources.sentry.parser import is_api_format, parse_event, parse_webhook_event
from tests.fixtures_path import shared_dir

REAL = shared_dir() / "fixtures" / "sentry" / "real"


def _load(name: str) -> dict[str, Any]:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def _listing() -> list[str]:
    return sorted(p.name for p in REAL.glob("*.json")) if REAL.is_dir() else []


# ---------------------------------------------------------------------------- how to read a file


def _whole_file(doc: dict[str, Any]) -> ErrorEvent:
    return parse_event(doc)


def _seer_request(doc: dict[str, Any]) -> ErrorEvent:
    return parse_event(doc["issue"]["events"][0])


def _openapi_example(doc: dict[str, Any]) -> ErrorEvent:
    return parse_event(doc["get"]["responses"]["200"]["content"]["application/json"]["example"])


def _webhook(doc: dict[str, Any]) -> ErrorEvent:
    event = parse_webhook_event(doc)
    assert event is not None
    return event


@dataclass(frozen=True)
class Case:
    file: str
    read: Callable[[dict[str, Any]], ErrorEvent]
    api_format: bool
    error_type: str
    message: str  # the primary exception's value, or its first line when it is long
    exceptions: int
    frames: int  # of the crash's stack (ErrorEvent.stack_trace)
    crash_filename: str
    crash_function: str
    crash_line: int | None
    crash_in_app: bool | None
    context_line: str | None = None
    pre_context_last: str | None = None
    post_context_first: str | None = None
    breadcrumbs: int = 0
    first_breadcrumb_category: str | None = None
    tags: dict[str, str] = field(default_factory=dict)  # a subset that must be present
    release: str | None = None
    request_url: str | None = None
    request_method: str | None = None
    issue_id: str | None = None
    event_id: str = ""
    mechanism: str | None = None
    handled: bool | None = None


CASES: dict[str, Case] = {
    c.file: c
    for c in [
        Case(
            file="seer-autofix-request-python.json",
            read=_seer_request,
            api_format=True,
            error_type="ValidationError",
            message="1 validation error for RootCauseAnalysisItem",
            exceptions=1,
            frames=7,
            crash_filename="seer/automation/autofix/components/root_cause/models.py",
            crash_function="to_model",
            crash_line=130,
            crash_in_app=True,
            context_line="        return RootCauseAnalysisItem.model_validate(",
            pre_context_last="    def to_model(self):",
            post_context_first="            {",
            tags={"environment": "production", "handled": "no", "mechanism": "ai_monitoring",
                  "runtime": "CPython 3.11.0"},
            release="5562d4f9f6b0e5a2f349ce46e4a00c25712f5cf2",
            issue_id="6042731264",
            event_id="42fecd08b4184ba08e5922362e277dbd",
            mechanism="ai_monitoring",
            handled=False,
        ),
        Case(
            file="api-schema-latest-event-javascript.json",
            read=_openapi_example,
            api_format=True,
            error_type="ForbiddenError",
            message="GET /organizations/hellboy-meowmeow/users/ 403",
            exceptions=1,
            frames=2,
            crash_filename="/usr/src/getsentry/src/sentry/node_modules/reflux-core/lib/PublisherMethods.js",
            crash_function="apply",
            crash_line=74,
            crash_in_app=False,
            context_line="            me.trigger.apply(me, args);",
            pre_context_last="        _.nextTick(function () {",
            post_context_first="        });",
            breadcrumbs=3,
            first_breadcrumb_category="tracing",
            tags={"environment": "prod", "handled": "yes", "browser": "Chrome 83.0.4103"},
            release="b65bc521378269d3eaefdc964f8ef56621414943",
            request_url="https://sentry.io/organizations/hellboy-meowmeow/issues/",
            request_method=None,
            issue_id="1341191803",
            event_id="9999aaaaca8b46d797c23c6077c6ff01",
            mechanism="generic",
            handled=True,
        ),
        Case(
            file="sentry-mcp-event-javascript.json",
            read=_whole_file,
            api_format=True,
            error_type="Error",
            message="Tool list_organizations is already registered",
            exceptions=1,
            frames=3,
            crash_filename="index.js",
            crash_function="Object.fetch",
            crash_line=19631,
            crash_in_app=True,
            breadcrumbs=4,
            first_breadcrumb_category="fetch",
            tags={"environment": "development", "mechanism": "cloudflare", "url": "https://mcp.sentry.dev/sse"},
            request_url="https://mcp.sentry.dev/sse",
            request_method="GET",
            issue_id="6507376925",
            event_id="7ca573c0f4814912aaa9bdc77d1a7d51",
            mechanism="cloudflare",
            handled=False,
        ),
        Case(
            file="sentry-sample-python-modern.json",
            read=_whole_file,
            api_format=False,
            error_type="Exception",
            message="This is an example Python exception",
            exceptions=1,
            frames=2,
            crash_filename="main.py",
            crash_function="main",
            crash_line=26,
            crash_in_app=True,
            context_line="    raise Exception('This is an example Python exception')",
            pre_context_last="    list_var = [1, 2, 3]",
            post_context_first="",
            breadcrumbs=1,
            first_breadcrumb_category="test",
            tags={"environment": "production", "runtime": "CPython 3.13.5", "server_name": "web01.example.org"},
            mechanism="excepthook",
            handled=False,
        ),
        Case(
            file="sentry-sample-ruby.json",
            read=_whole_file,
            api_format=False,
            error_type="ZeroDivisionError",
            message="divided by 0",
            exceptions=1,
            frames=3,
            crash_filename="raven/cli.rb",
            crash_function="/",
            crash_line=31,
            crash_in_app=False,
            context_line="        1 / 0",
            pre_context_last="      begin",
            post_context_first="      rescue ZeroDivisionError => exception",
        ),
        Case(
            file="sentry-sample-php.json",
            read=_whole_file,
            api_format=False,
            error_type="Exception",
            message="This is a test exception sent from the Raven CLI.",
            exceptions=1,
            frames=4,
            crash_filename="/Users/example/Development/raven-php/bin/raven",
            crash_function="raven_cli_test",
            crash_line=16,
            crash_in_app=None,
            context_line="        throw new Exception('This is a test exception sent from the Raven CLI.');",
            pre_context_last="    try {",
            post_context_first="    } catch (Exception $ex) {",
        ),
        Case(
            file="sentry-grouping-go-pkg-mod.json",
            read=_whole_file,
            api_format=False,
            error_type="*pq.Error",
            message="pq: cannot cast jsonb null to type integer",
            exceptions=1,
            frames=2,
            crash_filename="/my_app/main.go",
            crash_function="background.func2",
            crash_line=None,
            crash_in_app=True,
        ),
        Case(
            file="sentry-grouping-chained-exception-java.json",
            read=_whole_file,
            api_format=False,
            error_type="OnErrorNotImplementedException",
            message="The exception was not handled due to missing onError handler in the subscribe() method call.",
            exceptions=2,
            frames=1,
            crash_filename="MainActivity.java",
            crash_function="onDestroy",
            crash_line=9,
            crash_in_app=True,
        ),
        Case(
            file="glitchtip-oss-sentry-go_file_not_found.json",
            read=_whole_file,
            api_format=True,
            error_type="*os.PathError",
            message="open ./test.txt: no such file or directory",
            exceptions=1,
            frames=1,
            crash_filename="file-not-found.go",
            crash_function="main",
            crash_line=25,
            crash_in_app=False,
            context_line="\t\tsentry.CaptureException(err)",
            pre_context_last="\tif err != nil {",
            post_context_first='\t\tlog.Printf("reported to Sentry: %s", err)',
            tags={"runtime": "go go1.12.17", "server_name": "7337a9a27ac6"},
            issue_id="58",
            event_id="af536c31b68a473f97e579507ce155e3",
        ),
        Case(
            file="glitchtip-oss-sentry-python_zero_division.json",
            read=_whole_file,
            api_format=True,
            error_type="ZeroDivisionError",
            message="division by zero",
            exceptions=1,
            frames=6,
            crash_filename="errors/views.py",
            crash_function="get",
            crash_line=18,
            crash_in_app=False,
            context_line="        0/0",
            pre_context_last="    def get(self, request, *args, **kwargs):",
            post_context_first="",
            tags={"handled": "no", "mechanism": "django", "transaction": "/divide-zero/"},
            request_url="http://localhost:8001/divide-zero/",
            request_method="GET",
            issue_id="64",
            event_id="dd9e1afb828a44d5b4df0183adaee5d8",
            mechanism="django",
            handled=False,
        ),
        Case(
            file="glitchtip-oss-sentry-dotnet_divide_zero.json",
            read=_whole_file,
            api_format=True,
            error_type="System.DivideByZeroException",
            message="Attempted to divide by zero.",
            exceptions=1,
            frames=5,
            crash_filename="/app/Pages/Divide-Zero.cs",
            crash_function="DivideByZero",
            crash_line=14,
            crash_in_app=True,
            tags={"environment": "Development", "server-runtime": ".NET Core 3.1.3"},
            request_url="http://localhost:5000/Divide-Zero",
            request_method="GET",
            issue_id="71",
            event_id="78d7a93554124469a5a1d33518a60373",
        ),
        Case(
            file="glitchtip-oss-sentry-elixir_error.json",
            read=_whole_file,
            api_format=True,
            error_type="UndefinedFunctionError",
            message="function FakeModule.fake_function/0 is undefined (module FakeModule is not available)",
            exceptions=1,
            frames=13,
            crash_filename="",
            crash_function="FakeModule.fake_function/0",
            crash_line=None,
            crash_in_app=False,
            tags={"environment": "dev", "user": "ip:172.22.0.1"},
            request_url="http://localhost:4000/",
            request_method="GET",
            issue_id="297",
            event_id="af7344af737b4811b76fc343679d6e0d",
        ),
        Case(
            file="webhook-event-alert-triggered.json",
            read=_webhook,
            api_format=False,
            error_type="ReferenceError",
            message="heck is not defined",
            exceptions=1,
            frames=3,
            crash_filename="<anonymous>",
            crash_function="",
            crash_line=3,
            crash_in_app=False,
            tags={"browser": "Chrome 75.0.3770", "handled": "no", "mechanism": "onerror"},
            request_url="https://null.jsbin.com/runner",
            request_method=None,
            issue_id="1117540176",
            event_id="e4874d664c3540c1a32eab185f12c5ab",
            mechanism="onerror",
            handled=False,
        ),
        Case(
            file="webhook-error-created.json",
            read=_webhook,
            api_format=False,
            error_type="ReferenceError",
            message="blooopy is not defined",
            exceptions=1,
            frames=1,
            crash_filename="/runner",
            crash_function="",
            crash_line=3,
            crash_in_app=False,
            context_line="<meta charset=utf-8>",
            pre_context_last="<html>",
            post_context_first="<title>JS Bin Runner</title>",
            tags={"browser": "Chrome 75.0.3770", "url": "https://null.jsbin.com/runner"},
            request_url="https://null.jsbin.com/runner",
            request_method=None,
            issue_id="1170820242",
            event_id="bb78c1407cea4519aa397afc059c793d",
            mechanism="onerror",
            handled=False,
        ),
    ]
}

# Real Sentry payloads that are deliberately not events: each is consumed by another module.
NOT_EVENTS: dict[str, str] = {
    "sentry-mcp-issue.json": "issue details (GroupSerializer), no event inside",
    "sentry-mcp-autofix-state.json": "Seer autofix state",
    "sentry-mcp-autofix-state-explorer.json": "Seer autofix state, in progress",
    "webhook-issue-created.json": "issue webhook: carries data.issue, the event is fetched later",
    "webhook-installation-created.json": "installation webhook",
}


def _parsed(case: Case) -> ErrorEvent:
    return case.read(_load(case.file))


# ---------------------------------------------------------------------------- fixture bookkeeping


def test_fixture_directory_is_present() -> None:
    assert REAL.is_dir(), f"{REAL} is missing: set AUTOFIXER_SHARED_DIR"
    assert _listing(), f"no JSON fixtures in {REAL}"


@pytest.mark.parametrize("name", _listing())
def test_every_fixture_file_is_either_an_event_case_or_listed_as_not_an_event(name: str) -> None:
    # A new fixture file must be given expectations (CASES) or a reason (NOT_EVENTS).
    assert (name in CASES) != (name in NOT_EVENTS), f"{name}: add it to CASES or NOT_EVENTS"


def test_no_case_names_a_missing_fixture() -> None:
    listed = set(_listing())
    assert set(CASES) <= listed
    assert set(NOT_EVENTS) <= listed


@pytest.mark.parametrize("name", sorted(NOT_EVENTS))
def test_non_event_fixtures_really_carry_no_event(name: str) -> None:
    doc = _load(name)
    assert parse_webhook_event(doc) is None
    assert not {"exception", "entries", "sentry.interfaces.Exception"} & set(doc)


# ---------------------------------------------------------------------------- every real event


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_format_is_detected(case: Case) -> None:
    doc = _load(case.file)
    event_doc = {
        _seer_request: lambda d: d["issue"]["events"][0],
        _openapi_example: lambda d: d["get"]["responses"]["200"]["content"]["application/json"]["example"],
        _webhook: lambda d: d["data"].get("event") or d["data"].get("error"),
        _whole_file: lambda d: d,
    }[case.read](doc)
    assert is_api_format(event_doc) is case.api_format


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_exception(case: Case) -> None:
    event = _parsed(case)
    assert event.error_type == case.error_type
    assert event.error_message.split("\n", 1)[0] == case.message
    assert len(event.exceptions) == case.exceptions
    primary = event.primary_exception
    assert primary is not None
    assert primary.mechanism == case.mechanism
    assert primary.handled is case.handled


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_crash_frame(case: Case) -> None:
    frames = _parsed(case).stack_trace
    assert len(frames) == case.frames
    crash = frames[-1]  # Sentry order: the raising frame is last
    assert crash.filename == case.crash_filename
    assert crash.function == case.crash_function
    assert crash.line_no == case.crash_line
    assert crash.in_app is case.crash_in_app


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_crash_frame_context(case: Case) -> None:
    crash = _parsed(case).stack_trace[-1]
    assert crash.context_line == case.context_line
    assert (crash.pre_context[-1] if crash.pre_context else None) == case.pre_context_last
    assert (crash.post_context[0] if crash.post_context else None) == case.post_context_first


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_breadcrumbs_tags_release(case: Case) -> None:
    event = _parsed(case)
    assert len(event.breadcrumbs) == case.breadcrumbs
    assert (event.breadcrumbs[0].category if event.breadcrumbs else None) == case.first_breadcrumb_category
    assert case.tags.items() <= event.tags.items()
    assert event.release == case.release


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_request(case: Case) -> None:
    request = _parsed(case).request
    if case.request_url is None:
        assert request is None
        return
    assert request is not None
    assert request.url == case.request_url
    assert request.method == case.request_method


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_ids(case: Case) -> None:
    event = _parsed(case)
    assert event.issue_id == case.issue_id
    assert event.id == case.event_id


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_every_timestamp_is_iso_8601(case: Case) -> None:
    event = _parsed(case)
    stamps = [event.timestamp] + [crumb.timestamp for crumb in event.breadcrumbs]
    for stamp in filter(None, stamps):
        datetime.fromisoformat(stamp.replace("Z", "+00:00"))


# ---------------------------------------------------------------------------- fixture specifics


def test_seer_event_keeps_oldest_frame_first_and_frame_vars() -> None:
    event = _seer_request(_load("seer-autofix-request-python.json"))
    first = event.stack_trace[0]
    assert (first.filename, first.function, first.line_no) == (
        "seer/automation/autofix/steps/root_cause_step.py", "_invoke", 69)
    crash = event.stack_trace[-1]
    assert len(crash.pre_context) == 5 and len(crash.post_context) == 5
    assert "self" in crash.vars
    assert [f.in_app for f in event.stack_trace] == [True, False, False, False, True, True, True]
    assert event.timestamp == "2024-11-12T01:48:08Z"
    assert event.contexts["runtime"]["name"] == "CPython"
    assert event.sdk == "sentry.python.flask/2.18.0"


def test_seer_event_issue_id_matches_the_request_wrapping_it() -> None:
    doc = _load("seer-autofix-request-python.json")
    assert _seer_request(doc).issue_id == str(doc["issue"]["id"])


def test_api_query_pairs_become_a_query_string() -> None:
    event = _whole_file(_load("glitchtip-oss-sentry-python_zero_division.json"))
    assert event.request is not None
    assert event.request.query_string == "foo=bar&foo=bars&lol=ha"
    assert event.request.env == {"SERVER_NAME": "2f96b0310f37", "SERVER_PORT": "8001"}
    assert event.request.headers["Host"] == "localhost:8001"


def test_api_search_message_is_not_taken_for_a_log_message() -> None:
    # Top-level `message` of an exception event is Sentry's search text, not a log line.
    event = _whole_file(_load("glitchtip-oss-sentry-python_zero_division.json"))
    assert event.message is None


def test_api_message_entry_is_the_log_message() -> None:
    event = _whole_file(_load("glitchtip-oss-sentry-dotnet_divide_zero.json"))
    assert event.message == "An unhandled exception has occurred while executing the request."
    crash = event.stack_trace[-1]
    assert crash.col_no == 13
    assert crash.package == "myWebApp, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null"
    assert event.stack_trace[0].filename == ""  # .NET framework frames carry no file at all


def test_elixir_numeric_request_env_is_stringified_and_context_at_line_one_splits() -> None:
    event = _whole_file(_load("glitchtip-oss-sentry-elixir_error.json"))
    assert event.request is not None
    assert event.request.env["REMOTE_PORT"] == "46540"
    endpoint = event.stack_trace[5]
    assert endpoint.line_no == 1
    assert endpoint.pre_context == []
    assert endpoint.context_line == "defmodule GlitchtipErrorFactoryWeb.Endpoint do"
    assert endpoint.post_context == [
        "  use Sentry.PlugCapture",
        "  use Phoenix.Endpoint, otp_app: :glitchtip_error_factory",
        "",
    ]


def test_mcp_event_keeps_filtered_headers_and_breadcrumb_data() -> None:
    event = _whole_file(_load("sentry-mcp-event-javascript.json"))
    assert event.request is not None
    assert event.request.headers["Authorization"] == "[Filtered]"
    assert event.breadcrumbs[0].timestamp == "2025-04-08T21:14:50.000Z"
    assert event.breadcrumbs[0].data == {"method": "GET", "url": "/api/0/organizations/", "status_code": 200}
    assert event.breadcrumbs[1].data == {}  # `data: null`
    assert [f.context_line for f in event.stack_trace] == [None, None, None]  # `context: []`


def test_api_schema_example_title_is_kept_verbatim_even_though_it_disagrees() -> None:
    # The published example pairs a Python-sample title with a JS ForbiddenError; the title
    # is kept as received and the exception stays the source of truth for type and value.
    event = _openapi_example(_load("api-schema-latest-event-javascript.json"))
    assert event.title == "This is an example Python exception"
    assert event.error_type == "ForbiddenError"
    assert event.request is not None and event.request.query_string == "project=5236886"
    assert set(event.contexts) == {"ForbiddenError", "browser", "os", "trace", "organization"}


def test_python_modern_sample_epoch_timestamps() -> None:
    event = _whole_file(_load("sentry-sample-python-modern.json"))
    assert event.timestamp is not None and event.breadcrumbs[0].timestamp is not None
    assert datetime.fromisoformat(event.timestamp).timestamp() == pytest.approx(1751006912.86742)
    assert datetime.fromisoformat(event.breadcrumbs[0].timestamp).timestamp() == pytest.approx(1751006912.86641)
    assert event.environment == "production"
    assert event.culprit == "__main__ in main"
    assert event.stack_trace[-1].vars["int_var"] == "1"


def test_chained_exceptions_keep_innermost_cause_first() -> None:
    event = _whole_file(_load("sentry-grouping-chained-exception-java.json"))
    assert [e.type for e in event.exceptions] == ["RemoteException", "OnErrorNotImplementedException"]
    cause = event.exceptions[0]
    assert cause.frames == []  # `frames: null`
    assert cause.module == "android.os"
    assert cause.value.startswith("Remote stack trace:")
    # The cause has no frames, so the crash stack is the outer exception's.
    assert event.stack_trace == event.exceptions[1].frames
    assert event.in_app_frames[0].module == "com.example.MainActivity"


def test_go_event_without_line_numbers() -> None:
    event = _whole_file(_load("sentry-grouping-go-pkg-mod.json"))
    library, app = event.stack_trace
    assert library.line_no is None and app.line_no is None
    assert library.in_app is None  # not sent
    assert library.module == "github.com/robfig/cron/v3"
    assert app.location == "/my_app/main.go"
    assert event.in_app_frames == [app]


def test_php_frames_without_in_app_stay_unknown() -> None:
    event = _whole_file(_load("sentry-sample-php.json"))
    assert [f.in_app for f in event.stack_trace] == [None, None, None, None]
    assert event.stack_trace[-1].vars == {"args": {"foo": "bar"}, "command": "command name"}
    assert event.stack_trace[0].post_context == [""]


def test_ruby_context_lines_lose_their_trailing_newlines() -> None:
    event = _whole_file(_load("sentry-sample-ruby.json"))
    for frame in event.stack_trace:
        for line in [*frame.pre_context, frame.context_line or "", *frame.post_context]:
            assert not line.endswith("\n")
    first = event.stack_trace[0]
    assert first.context_line == "      Raven::CLI::test(dsn)"
    assert first.pre_context == ["    if !dsn", '      puts "Usage: raven test <dsn>"', "    else"]
    assert first.in_app is True
    assert event.exceptions[0].module is None  # `module: ""`


def test_event_alert_webhook_fills_issue_url_and_project() -> None:
    event = _webhook(_load("webhook-event-alert-triggered.json"))
    assert event.issue_url == "https://sentry.io/organizations/test-org/issues/1117540176/"
    assert event.project == "front-end"
    assert event.title == "ReferenceError: heck is not defined"
    assert event.platform == "javascript"
    assert event.stack_trace[0].context_line is not None
    assert event.stack_trace[0].context_line.startswith("{snip} e(a.old)")
    assert event.stack_trace[0].col_no == 10866
    assert event.request is not None and event.request.query_string is None  # `query_string: []`


def test_error_webhook_fills_issue_url_and_project() -> None:
    event = _webhook(_load("webhook-error-created.json"))
    assert event.issue_url == "https://sentry.io/organizations/test-org/issues/1170820242/"
    assert event.project == "front-end"
    assert event.culprit == "?(runner)"
    assert event.level == "error"
    assert event.timestamp is not None
    assert datetime.fromisoformat(event.timestamp).timestamp() == pytest.approx(1566248317.391)


def test_webhook_without_issue_id_field_takes_it_from_web_url() -> None:
    doc = _load("webhook-error-created.json")
    del doc["data"]["error"]["issue_id"]
    event = _webhook(doc)
    assert event.issue_id == "1170820242"


def test_webhook_rest_issue_url_is_not_offered_as_the_issue_page() -> None:
    doc = _load("webhook-event-alert-triggered.json")
    del doc["data"]["event"]["web_url"]
    del doc["data"]["event"]["issue_id"]
    event = _webhook(doc)
    assert event.issue_url is None  # only the REST `/api/0/issues/{id}/` was left
    assert event.issue_id == "1117540176"  # ...which still names the issue


@pytest.mark.parametrize("body", [{}, {"data": None}, {"data": {"event": None}}, {"data": {"event": []}}])
def test_webhook_without_event_is_none(body: dict[str, Any]) -> None:
    assert parse_webhook_event(body) is None


# ---------------------------------------------------------------------------- arguments


def test_arguments_override_the_payload() -> None:
    doc = _load("webhook-event-alert-triggered.json")["data"]["event"]
    event = parse_event(doc, issue_id="42", issue_url="https://sentry.example/issues/42/", project="web")
    assert (event.issue_id, event.issue_url, event.project) == ("42", "https://sentry.example/issues/42/", "web")


def test_issue_id_comes_from_the_issue_url_argument_when_the_event_has_none() -> None:
    event = parse_event(_load("sentry-sample-ruby.json"), issue_url="https://acme.sentry.io/issues/987/")
    assert event.issue_id == "987"


@pytest.mark.parametrize(
    ("data", "project"),
    [
        ({"entries": [], "projectSlug": "backend"}, "backend"),
        ({"project": "backend"}, "backend"),
        ({"project": 7}, None),
        ({"project": "7"}, None),  # a numeric id, not a slug
        ({}, None),
    ],
)
def test_project_slug(data: dict[str, Any], project: str | None) -> None:
    assert parse_event(data).project == project


# ---------------------------------------------------------------------------- malformed and legacy


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"entries": None},
        {"entries": [None, 3, {"type": "exception"}, {"type": "exception", "data": {"values": None}}]},
        {"entries": [{"type": "exception", "data": {"values": [{"stacktrace": {"frames": None}}]}}]},
        {"exception": {"values": [{"stacktrace": {"frames": None}}]}},
        {"exception": {"values": None}},
        {"exception": {"values": [None, {"stacktrace": None, "mechanism": None}]}},
        {"exception": "boom", "breadcrumbs": "x", "request": [], "tags": 5, "contexts": [1]},
        {"exception": {"values": [{"stacktrace": {"frames": [None, {"lineno": "x", "pre_context": None}]}}]}},
        {"timestamp": True, "release": {}, "sdk": [], "logentry": None, "threads": {"values": [None]}},
    ],
)
def test_malformed_input_gives_an_event(data: dict[str, Any]) -> None:
    event = parse_event(data)
    assert isinstance(event, ErrorEvent)
    assert event.id == ""


def test_non_dict_input_gives_an_empty_event() -> None:
    assert parse_event([]).exceptions == []  # type: ignore[arg-type]


def test_frames_null_gives_an_exception_without_frames() -> None:
    event = parse_event({"exception": {"values": [{"type": "E", "stacktrace": {"frames": None}}]}})
    assert event.exceptions[0].frames == []
    assert event.stack_trace == []
    assert event.title == "E"


def test_tags_as_dict_with_non_string_values() -> None:
    event = parse_event({"tags": {"retries": 3, "debug": True, "ratio": 0.5, "gone": None, "environment": "prod"}})
    assert event.tags == {"retries": "3", "debug": "true", "ratio": "0.5", "environment": "prod"}
    assert event.environment == "prod"


def test_tags_as_pairs_with_non_string_values() -> None:
    event = parse_event({"tags": [["retries", 3], ["bad"], ["gone", None], ["level", "warning"]]})
    assert event.tags == {"retries": "3", "level": "warning"}
    assert event.level == "warning"


def test_api_tags_with_non_string_values() -> None:
    event = parse_event({"entries": [], "tags": [{"key": "n", "value": 1}, {"value": "orphan"}]})
    assert event.tags == {"n": "1"}


def test_unknown_entry_types_are_ignored() -> None:
    event = parse_event({
        "eventID": "e1",
        "entries": [
            {"type": "debugmeta", "data": {"images": []}},
            {"type": "spans", "data": [1, 2]},
            {"type": "exception", "data": {"values": [{"type": "KeyError", "value": "'x'"}]}},
        ],
    })
    assert event.id == "e1"
    assert event.error_type == "KeyError"


def test_api_frame_with_null_context_and_without_line_number() -> None:
    event = parse_event({"entries": [{"type": "exception", "data": {"values": [{
        "type": "E",
        "stacktrace": {"frames": [
            {"filename": "a.py", "lineNo": 3, "context": None},
            {"filename": "b.py", "lineNo": None, "context": [[1, "x"], [2, "y"]]},
            {"filename": "c.py", "lineNo": 2, "context": [[1, "one\n"], "junk", [None, "z"], [2, None], [3, "three"]]},
        ]},
    }]}}]})
    a, b, c = event.stack_trace
    assert (a.pre_context, a.context_line, a.post_context) == ([], None, [])
    # Without a line number there is no telling which line crashed: no context at all.
    assert (b.pre_context, b.context_line, b.post_context) == ([], None, [])
    assert (c.pre_context, c.context_line, c.post_context) == (["one"], "", ["three"])
    assert a.in_app is None and a.vars == {}


def test_exception_as_plain_list_and_legacy_single_object() -> None:
    as_list = parse_event({"exception": [{"type": "A", "value": "1"}, {"type": "B", "value": "2"}]})
    assert [e.type for e in as_list.exceptions] == ["A", "B"]
    single = parse_event({"sentry.interfaces.Exception": {"type": "C", "value": "3"}})
    assert [e.type for e in single.exceptions] == ["C"]


def test_three_deep_chain_keeps_order_and_crash_comes_from_innermost_with_frames() -> None:
    frame = {"filename": "app.py", "function": "f", "lineno": 1, "in_app": True}
    event = parse_event({"exception": {"values": [
        {"type": "Root", "stacktrace": {"frames": [frame, {**frame, "lineno": 2}]}},
        {"type": "Middle", "stacktrace": {"frames": [{**frame, "lineno": 10}]}},
        {"type": "Outer", "stacktrace": {"frames": [{**frame, "lineno": 20}]}},
    ]}})
    assert [e.type for e in event.exceptions] == ["Root", "Middle", "Outer"]
    assert event.error_type == "Outer"
    assert [f.line_no for f in event.stack_trace] == [1, 2]


def test_breadcrumbs_as_list_legacy_key_and_timestamps() -> None:
    crumbs = [
        {"timestamp": 0, "category": "a"},
        {"timestamp": "2024-01-02T03:04:05Z", "category": "b"},
        {"timestamp": "1700000000.5", "category": "c", "data": None, "message": 42},
        {"timestamp": None, "category": "d"},
        "junk",
    ]
    for event in (parse_event({"breadcrumbs": crumbs}),
                  parse_event({"sentry.interfaces.Breadcrumbs": {"values": crumbs}}),
                  parse_event({"entries": [{"type": "breadcrumbs", "data": {"values": crumbs}}]})):
        assert [c.category for c in event.breadcrumbs] == ["a", "b", "c", "d"]
        assert event.breadcrumbs[0].timestamp == "1970-01-01T00:00:00+00:00"
        assert event.breadcrumbs[1].timestamp == "2024-01-02T03:04:05Z"
        assert event.breadcrumbs[2].timestamp == "2023-11-14T22:13:20.500000+00:00"
        assert event.breadcrumbs[2].message == "42"
        assert event.breadcrumbs[3].timestamp is None


def test_request_headers_as_dict_and_legacy_http_key() -> None:
    event = parse_event({"sentry.interfaces.Http": {
        "url": "https://shop.example/cart",
        "method": "POST",
        "query_string": "a=1",
        "headers": {"Content-Length": 12, "X-Empty": None},
        "env": {"REMOTE_PORT": 443},
        "data": {"sku": "x"},
    }})
    assert event.request is not None
    assert event.request.method == "POST"
    assert event.request.query_string == "a=1"
    assert event.request.headers == {"Content-Length": "12"}
    assert event.request.env == {"REMOTE_PORT": "443"}
    assert event.request.data == {"sku": "x"}


def test_stored_timestamp_as_string_and_datetime_fallback() -> None:
    assert parse_event({"timestamp": "2024-05-06T07:08:09Z"}).timestamp == "2024-05-06T07:08:09Z"
    assert parse_event({"datetime": "2019-08-19T20:58:37.391000Z"}).timestamp == "2019-08-19T20:58:37.391000Z"
    assert parse_event({"timestamp": 1566248317}).timestamp == "2019-08-19T20:58:37+00:00"


def test_release_forms() -> None:
    assert parse_event({"release": "1.2.3"}).release == "1.2.3"
    assert parse_event({"entries": [], "release": {"version": "abc"}}).release == "abc"
    assert parse_event({"entries": [], "release": {"shortVersion": "short"}}).release == "short"
    assert parse_event({"entries": [], "release": None, "tags": [{"key": "release", "value": "t"}]}).release == "t"
    assert parse_event({"release": None}).release is None


def test_mechanism_forms() -> None:
    event = parse_event({"exception": {"values": [
        {"type": "A", "mechanism": {"type": "generic", "handled": True}},
        {"type": "B", "mechanism": "logging"},
        {"type": "C"},
    ]}})
    assert [(e.mechanism, e.handled) for e in event.exceptions] == [("generic", True), ("logging", None), (None, None)]


def test_message_event_uses_logentry_and_thread_frames() -> None:
    frame = {"filename": "worker.py", "function": "run", "lineno": 5, "in_app": True}
    event = parse_event({
        "event_id": "m1",
        "logentry": {"message": "queue %s stuck", "formatted": "queue jobs stuck"},
        "threads": {"values": [
            {"id": 1, "current": False, "stacktrace": {"frames": [{**frame, "lineno": 1}]}},
            {"id": 2, "crashed": True, "stacktrace": {"frames": [frame]}},
        ]},
    })
    assert event.message == "queue jobs stuck"
    assert event.error_message == "queue jobs stuck"
    assert event.title == "queue jobs stuck"
    assert event.exceptions == []
    assert [f.line_no for f in event.stack_trace] == [5]  # the crashed thread


def test_api_threads_entry_and_message_entry() -> None:
    event = parse_event({"entries": [
        {"type": "message", "data": {"formatted": "disk full"}},
        {"type": "threads", "data": {"values": [
            {"current": True, "stacktrace": {"frames": [{"filename": "a.go", "lineNo": 9, "inApp": True}]}},
        ]}},
    ], "message": "search text"})
    assert event.message == "disk full"
    assert event.stack_trace[0].location == "a.go:9"


def test_api_top_level_message_is_used_when_there_is_no_exception() -> None:
    assert parse_event({"entries": [], "message": "plain log line"}).message == "plain log line"


def test_legacy_top_level_stacktrace_joins_the_single_exception() -> None:
    event = parse_event({
        "sentry.interfaces.Exception": {"values": [{"type": "E", "value": "v"}]},
        "sentry.interfaces.Stacktrace": {"frames": [{"filename": "x.rb", "lineno": 4}]},
    })
    assert [f.location for f in event.exceptions[0].frames] == ["x.rb:4"]


def test_both_formats_normalise_to_the_same_frame() -> None:
    stored = parse_event({"exception": {"values": [{"type": "E", "value": "v", "stacktrace": {"frames": [{
        "filename": "app/models.py", "abs_path": "/srv/app/models.py", "function": "save", "module": "app.models",
        "lineno": 11, "colno": 2, "in_app": True, "vars": {"x": "1"},
        "pre_context": ["a", "b"], "context_line": "c", "post_context": ["d"],
    }]}}]}})
    api = parse_event({"entries": [{"type": "exception", "data": {"values": [{"type": "E", "value": "v", "stacktrace": {
        "frames": [{
            "filename": "app/models.py", "absPath": "/srv/app/models.py", "function": "save", "module": "app.models",
            "lineNo": 11, "colNo": 2, "inApp": True, "vars": {"x": "1"},
            "context": [[9, "a"], [10, "b"], [11, "c"], [12, "d"]],
        }]}}]}}]})
    assert stored.exceptions == api.exceptions


def test_fixture_dir_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUTOFIXER_SHARED_DIR", str(tmp_path))
    assert shared_dir() == tmp_path
