"""The whole pipeline once per provider: signed webhook → fake Sentry → the agent on each
provider's real client against its local fake → branch pushed to the fake GitHub → PR opened.
The same scripted investigation as tests/test_service_pr.py, rendered in each vendor's format."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import ollama_api, openai_api
from tests.fakes.github_api import FakeGitHub
from tests.fakes.sentry_api import FakeSentry
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, Service
from tests.test_agent_loop import FIXED_LINE, _git, make_shop_repo
from tests.test_service_fix import SCRIPT, _webhook, api_event

GITHUB_TOKEN = "test-github-token-not-real"
PROVIDERS = ["openai", "azure-openai", "openai-compatible", "ollama"]


def _turns() -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """SCRIPT's turns (Anthropic content blocks) as (text, [(tool, arguments)])."""
    return [(" ".join(b["text"] for b in blocks if b["type"] == "text"),
             [(b["name"], b["input"]) for b in blocks if b["type"] == "tool_use"]) for blocks in SCRIPT]


@contextlib.contextmanager
def model_server(kind: str) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    if kind == "ollama":
        fake_ollama = ollama_api.FakeOllama()
        fake_ollama.script += [ollama_api.Chat(content=text, tool_calls=calls) for text, calls in _turns()]
        with serve_app(fake_ollama.app) as url:
            yield {"provider": "ollama", "model": ollama_api.MODEL, "base-url": url}, {}
        return
    fake = openai_api.FakeOpenAI(api_key=openai_api.API_KEY, azure=kind == "azure-openai")
    fake.script += [openai_api.Completion(content=text or None, tool_calls=calls) for text, calls in _turns()]
    with serve_app(fake.app) as url:
        llm: dict[str, Any] = {"provider": kind, "model": "gpt-4o", "base-url": f"{url}/v1"}
        if kind == "azure-openai":
            llm.update({"base-url": url, "deployment": "fixer", "api-version": "2024-10-21"})
        yield llm, {"AUTOFIXER_LLM_KEY": openai_api.API_KEY}


@pytest.mark.parametrize("kind", PROVIDERS)
def test_an_issue_becomes_a_pull_request_with_each_provider(kind: str, tmp_path: Path) -> None:
    issue = str(7001 + PROVIDERS.index(kind))
    work = make_shop_repo(tmp_path / "work")
    bare = tmp_path / "acme" / "shop.git"
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    github = FakeGitHub(token=GITHUB_TOKEN, repo_paths={"acme/shop": bare})
    sentry = FakeSentry(token=SENTRY_TOKEN, org="test-org", load_fixtures=False)
    sentry.add_event(api_event(issue), project_slug="shop")
    with serve_app(github.app) as github_url, serve_app(sentry.app) as sentry_url, model_server(kind) as (llm, env):
        (tmp_path / "svc").mkdir()
        svc = Service(tmp_path / "svc", sentry_url, config={
            "scm": {"type": "github", "base-url": github_url},
            "projects": [{"source-project": "shop", "scm-repo": "acme/shop",
                          "clone-url": f"{github_url}/acme/shop.git"}],
            "llm": {**llm, "max-steps": 10},
            "worker": {"concurrency": 1, "poll-interval-seconds": 0.1, "sentry-backoff-seconds": 0.05},
        }, env={**env, "AUTOFIXER_GITHUB_TOKEN": GITHUB_TOKEN}).start()
        try:
            assert svc.post_webhook(_webhook(issue), "issue").status_code == 202
            outcome = svc.wait_job(f"sentry:test-org:{issue}", timeout=90)["outcome"]
            metrics = httpx.get(f"{svc.url}/metrics").text
        finally:
            svc.stop()
    assert outcome["state"] == "done", outcome
    assert outcome["fix"]["exit_reason"] == "submitted" and f"+{FIXED_LINE}" in outcome["fix"]["diff"]
    [pull] = [p for p in github.pulls["acme/shop"] if p["head"]["ref"] == f"fix/auto-fixer-sentry-{issue}"]
    assert "**Confidence:** HIGH" in pull["body"] and "model turns" in pull["body"]
    if kind == "openai-compatible" or kind == "ollama":
        assert "$0.0000" in pull["body"]  # a local model costs 0, and that price is known
    assert "cost unknown" not in pull["body"]
    assert "autofixer_llm_unpriced_turns_total 0\n" in metrics
    [cost] = [float(line.split()[1]) for line in metrics.splitlines()
              if line.startswith("autofixer_llm_cost_usd_total ")]
    local = kind in ("openai-compatible", "ollama")
    assert cost == (0 if local else pytest.approx(outcome["fix"]["usage"]["cost_usd"], abs=1e-6))
    assert local or cost > 0  # gpt-4o has a list price


def test_an_unpriced_model_is_cost_unknown_in_the_pr_and_metrics(tmp_path: Path) -> None:
    """A hosted model missing from the price table: never a made-up price."""
    issue = "7101"
    work = make_shop_repo(tmp_path / "work")
    bare = tmp_path / "acme" / "shop.git"
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    github = FakeGitHub(token=GITHUB_TOKEN, repo_paths={"acme/shop": bare})
    sentry = FakeSentry(token=SENTRY_TOKEN, org="test-org", load_fixtures=False)
    sentry.add_event(api_event(issue), project_slug="shop")
    fake = openai_api.FakeOpenAI()
    fake.script += [openai_api.Completion(content=text or None, tool_calls=calls) for text, calls in _turns()]
    with serve_app(github.app) as github_url, serve_app(sentry.app) as sentry_url, serve_app(fake.app) as llm_url:
        (tmp_path / "svc").mkdir()
        svc = Service(tmp_path / "svc", sentry_url, config={
            "scm": {"type": "github", "base-url": github_url},
            "projects": [{"source-project": "shop", "scm-repo": "acme/shop",
                          "clone-url": f"{github_url}/acme/shop.git"}],
            "llm": {"provider": "openai", "model": "acme-finetune-1", "base-url": f"{llm_url}/v1", "max-steps": 10},
            "worker": {"concurrency": 1, "poll-interval-seconds": 0.1, "sentry-backoff-seconds": 0.05},
        }, env={"OPENAI_API_KEY": openai_api.API_KEY, "AUTOFIXER_GITHUB_TOKEN": GITHUB_TOKEN}).start()
        try:
            assert svc.post_webhook(_webhook(issue), "issue").status_code == 202
            outcome = svc.wait_job(f"sentry:test-org:{issue}", timeout=90)["outcome"]
            metrics = httpx.get(f"{svc.url}/metrics").text
        finally:
            svc.stop()
    assert outcome["state"] == "done", outcome
    [pull] = [p for p in github.pulls["acme/shop"] if p["head"]["ref"] == f"fix/auto-fixer-sentry-{issue}"]
    assert "cost unknown (4 turns of a model with no known price)" in pull["body"]
    assert "\nautofixer_llm_cost_usd_total 0.000000\n" in metrics
    assert "\nautofixer_llm_unpriced_turns_total 4\n" in metrics
