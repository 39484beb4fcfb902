"""list_issues and get_issue for every configured source: the MCP tools take `source`, and
without it they keep asking the first one, as before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.config import Secrets, parse_settings
from server.mcp.tools import GetIssueArgs, ListIssuesArgs, get_issue, list_issues
from server.mcp.triage import Triage, TriageError
from tests.fakes.datadog_api import PYTHON_ISSUE_ID, FakeDatadog
from tests.fakes.rollbar_api import FakeRollbar, add_pyrollbar_item
from tests.fakes.serve import serve_app

ENV = {"AUTOFIXER_DATADOG_API_KEY": "dd-api-" + "3" * 32, "AUTOFIXER_DATADOG_APP_KEY": "dd-app-" + "4" * 40,
       "AUTOFIXER_ROLLBAR_TOKEN": "rb-" + "5" * 32}


@pytest.fixture
def trackers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    datadog = FakeDatadog(api_key=ENV["AUTOFIXER_DATADOG_API_KEY"], app_key=ENV["AUTOFIXER_DATADOG_APP_KEY"])
    rollbar = FakeRollbar(token=ENV["AUTOFIXER_ROLLBAR_TOKEN"])
    add_pyrollbar_item(rollbar, "1700000001")
    with serve_app(datadog.app) as dd_url, serve_app(rollbar.app) as rb_url:
        settings = parse_settings({
            "sources": [{"type": "datadog", "base-url": dd_url},
                        {"type": "rollbar", "base-url": rb_url, "account": "acme", "project": "shop"}],
            "projects": [{"source-project": "shop", "scm-repo": "acme/shop", "source": "rollbar"}],
            "state-dir": str(tmp_path / "state"),
        })
        yield {"settings": settings}


class _Ctx:
    def __init__(self, triage: Triage) -> None:
        self.triage = triage


async def test_list_and_get_from_each_source(trackers: dict[str, Any]) -> None:
    async with Triage(trackers["settings"], Secrets()) as triage:
        ctx: Any = _Ctx(triage)
        default = await list_issues.run(ctx, ListIssuesArgs())
        assert PYTHON_ISSUE_ID in default.text  # the first source: Datadog
        rollbar = await list_issues.run(ctx, ListIssuesArgs(source="rollbar"))
        assert "1700000001" in rollbar.text and PYTHON_ISSUE_ID not in rollbar.text
        shown = await get_issue.run(ctx, GetIssueArgs(issue_id="1700000001", source="rollbar"))
        assert "ValueError" in shown and "KeyError" in shown and "acme/shop" in shown  # its project's repository
        dd = await get_issue.run(ctx, GetIssueArgs(issue_id=PYTHON_ISSUE_ID))
        assert "RuntimeError" in dd and "tests/contrib/fastapi/app.py" in dd
        with pytest.raises(TriageError, match="no source named 'bugsnag'"):
            await list_issues.run(ctx, ListIssuesArgs(source="bugsnag"))
