"""Datadog and Rollbar payloads (real recordings and a captured pyrollbar occurrence) mapped into
the one ErrorEvent and Issue every later stage reads."""

from __future__ import annotations

import json
from pathlib import Path

from sources.datadog.parser import parse_event as dd_event
from sources.datadog.parser import parse_issue as dd_issue
from sources.rollbar.parser import parse_event as rb_event
from sources.rollbar.parser import parse_issue as rb_issue
from tests.fakes.datadog_api import PYTHON_ISSUE_ID, FakeDatadog, recorded_issue
from tests.fakes.rollbar_api import webhooks

PYROLLBAR = json.loads((Path(__file__).parent / "fakes" / "rollbar_pyrollbar_occurrence.json").read_text())


def test_datadog_issue_document() -> None:
    issue = dd_issue(recorded_issue(), url="https://app.datadoghq.com/error-tracking?issueId=x",
                     counts={"total_count": 7, "impacted_users": 2})
    assert (issue.id, issue.title, issue.project, issue.status) == (
        "5f8ebd5c-6dd9-11f0-8a28-da7ad0900002", "Error: HTTP error", "synthetics-browser", "resolved")
    assert (issue.count, issue.user_count) == (7, 2)
    assert issue.first_seen and issue.first_seen.startswith("2025-07-31")  # epoch milliseconds


def test_datadog_span_stack_becomes_frames() -> None:
    fake = FakeDatadog(api_key="a", app_key="b")
    raw = {"issue": fake.issues[PYTHON_ISSUE_ID], "events": fake.spans[PYTHON_ISSUE_ID]}
    event = dd_event(raw, issue_id=PYTHON_ISSUE_ID, issue_url="u")
    assert event.error_type == "RuntimeError" and event.error_message == "Server error"  # builtins. dropped
    crash = event.stack_trace[-1]
    assert crash.filename == "/home/bits/project/tests/contrib/fastapi/app.py" and crash.line_no == 120
    assert event.environment == "pcf-spartancrimson" and event.release == "1.0.0"  # the span's env and version
    assert event.platform == "python" and event.project == "fastapi"
    assert event.request is not None and event.request.method == "GET"
    assert event.tags["deployment"] == "cf-6a3777f94c200f214075"


def test_datadog_issue_without_a_sample_keeps_its_type_and_location() -> None:
    issue = recorded_issue()
    issue["data"]["attributes"].update(file_path="src/cart.ts", function_name="total")
    event = dd_event({"issue": issue, "events": []}, issue_id="i", issue_url="u")
    assert event.title == "Error: HTTP error" and event.error_type == "Error"
    assert [(f.filename, f.function) for f in event.stack_trace] == [("src/cart.ts", "total")]


def test_datadog_garbage_never_raises() -> None:
    for raw in ({}, {"issue": [], "events": "x"}, {"events": [{"attributes": {"custom": {"error": {"stack": 5}}}}]}):
        assert dd_event(raw, issue_id="i", issue_url="u").issue_id == "i"  # type: ignore[arg-type]


def test_pyrollbar_trace_chain_innermost_first_with_context() -> None:
    event = rb_event({"item": {"title": "ValueError"}, "occurrence": {"id": 1, "data": PYROLLBAR}},
                     issue_id="7", issue_url="u", project="shop")
    cause, outer = event.exceptions
    assert (cause.type, outer.type) == ("KeyError", "ValueError")
    assert outer.value == "unknown sku in cart: 'b'"
    assert cause.frames[-1].function == "price_of"
    assert cause.frames[-1].context_line == 'return cart["items"][sku]["price"]'
    assert outer.frames[-1].filename == "/tmp/rbcap/shop.py" and outer.frames[-1].line_no == 9
    assert event.release == "3f2a9c1" and event.environment == "production" and event.level == "error"
    assert event.tags["branch"] == "main" and event.contexts["custom"] == {"cart_id": 17}
    assert event.platform == "python" and event.sdk == "pyrollbar/1.5.0" and event.id == PYROLLBAR["uuid"]
    assert event.stack_trace == cause.frames  # the agent starts where the fault was raised


def test_rollbar_webhook_occurrence_request_and_person() -> None:
    occurrence = dict(webhooks()["occurrence"]["data"]["occurrence"])
    occurrence.update(request={"url": "https://shop.example/cart", "method": "POST", "headers": {"Accept": "*/*"},
                               "query_string": "a=1"},
                      person={"id": "42", "username": "ann", "email": "ann@example.com"})
    event = rb_event({"item": webhooks()["occurrence"]["data"]["item"], "occurrence": occurrence},
                     issue_id="402860571", issue_url="u", project=None)
    assert (event.error_type, event.error_message) == ("Exception", "test 2")
    frame = event.stack_trace[-1]
    assert frame.filename.endswith("php-rollbar-app/index.php") and frame.line_no == 27 and frame.in_app
    assert event.request is not None and event.request.url == "https://shop.example/cart"
    assert event.contexts["person"] == {"id": "42", "username": "ann"}  # the e-mail stays in Rollbar


def test_rollbar_message_occurrence_and_item() -> None:
    delivery = webhooks()["new_item"]["data"]["item"]
    event = rb_event({"item": delivery, "occurrence": delivery["last_occurrence"]}, issue_id="1", issue_url="u",
                     project=None)
    assert event.exceptions == [] and event.message == "testing aobg98wrwe" and event.title == "testing aobg98wrwe"
    issue = rb_issue(delivery, project="shop", url="u")
    assert (issue.level, issue.status, issue.count, issue.short_id) == ("error", "active", 1, "#4")


def test_rollbar_garbage_never_raises() -> None:
    for raw in ({}, {"occurrence": {"data": {"body": {"trace_chain": [1, {"frames": "x"}]}}}},
                {"occurrence": {"body": {"trace": {"frames": [{"lineno": "x", "filename": 3}]}}}}):
        assert rb_event(raw, issue_id="i", issue_url="u", project=None).issue_id == "i"


def test_a_datadog_payload_may_name_the_service() -> None:
    from werkzeug.datastructures import Headers

    from server import connectors  # noqa: F401  (the registry builds sources by type)
    from sources.base import Delivery
    from tests.contracts.support import build_connector

    source = build_connector("sources", {"type": "datadog"}, {"AUTOFIXER_DATADOG_WEBHOOK_SECRET": "s" * 20})
    body = json.dumps({"issue_id": PYTHON_ISSUE_ID.upper(), "service": "fastapi", "title": "t"}).encode()
    wanted = source.fix_request(Delivery(headers=Headers({"X-Autofixer-Token": "s" * 20}), body=body,
                                         content_type="application/json"))
    assert (wanted.issue_id, wanted.project, wanted.trigger) == (PYTHON_ISSUE_ID, "fastapi", "webhook.triggered")
