"""Provider specifics the contract suite does not cover, each driven by its real client over
HTTP against the local fakes (tests/fakes/openai_api.py, ollama_api.py), and the loop's handling
of weak models (agent/tool_text.py, agent/budget.py) end to end through them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.budget import estimate_tokens
from agent.loop import Limits, run_agent
from agent.openai_pricing import OpenAIPricing
from agent.openai_provider import parse_duration
from agent.provider import ProviderError, ProviderUnavailable, user_message
from agent.settings import LlmConfig
from agent.tool_text import calls_from_text, repair_arguments
from common.config import ConnectorContext
from domain import Confidence, FixResult, Usage
from server import connectors
from server.pipeline.pr_text import cost_text
from tests.fakes import ollama_api, openai_api
from tests.fakes.serve import serve_app
from tests.test_agent_loop import SMALL_TOOLS
from tools.base import ToolContext

TOOLS = [{"name": "echo", "description": "Echo.", "input_schema": {
    "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}]


def build(env: dict[str, str] | None = None, **llm: Any) -> Any:
    config = LlmConfig.model_validate(llm)
    return connectors.build_provider(config, ConnectorContext(env=lambda n: (env or {}).get(n), max_attempts=3,
                                                              backoff_seconds=0.001))


@pytest.fixture
def openai_fake() -> Iterator[tuple[openai_api.FakeOpenAI, str]]:
    fake = openai_api.FakeOpenAI(api_key=None)
    with serve_app(fake.app) as url:
        yield fake, url


@pytest.fixture
def ollama_fake() -> Iterator[tuple[ollama_api.FakeOllama, str]]:
    fake = ollama_api.FakeOllama()
    with serve_app(fake.app) as url:
        yield fake, url


# ── OpenAI ────────────────────────────────────────────────────────────────────────────────


async def test_openai_reasoning_model_parallel_calls_cached_and_reasoning_tokens() -> None:
    fake = openai_api.FakeOpenAI()
    with serve_app(fake.app) as url:
        provider = build({"OPENAI_API_KEY": openai_api.API_KEY}, provider="openai", model="gpt-5.1",
                         base_url=f"{url}/v1", temperature=0.2)
        fake.script.append(openai_api.Completion(
            tool_calls=[("echo", {"text": "a"}), ("echo", {"text": "b"})], prompt_tokens=2000, cached_tokens=1500,
            completion_tokens=300, reasoning_tokens=200))
        turn = await provider.complete("sys", [user_message("go")], TOOLS)
    body = fake.requests[0]
    assert body["max_completion_tokens"] and "max_tokens" not in body and "temperature" not in body
    assert body["tool_choice"] == "auto" and body["messages"][0] == {"role": "system", "content": "sys"}
    assert [c.arguments for c in turn.tool_calls] == [{"text": "a"}, {"text": "b"}]  # parallel calls
    assert (turn.usage.input_tokens, turn.usage.cache_read_tokens, turn.usage.output_tokens) == (500, 1500, 300)
    # gpt-5.1: $1.25 in, $0.125 cached, $10 out (reasoning tokens are billed as output).
    assert turn.usage.cost_usd == pytest.approx((500 * 1.25 + 1500 * 0.125 + 300 * 10) / 1e6)


async def test_openai_error_bodies_become_one_line_provider_errors() -> None:
    fake = openai_api.FakeOpenAI()
    recorded = json.loads((openai_api.REAL / "newrelic__chat-completions-and-responses_error-bodies_404_401_400.json")
                          .read_text())[0]["response"]["body"]["error"]
    with serve_app(fake.app) as url:
        fake.script.append(openai_api.Failure(404, recorded["message"], recorded["type"]))
        provider = build({"AUTOFIXER_LLM_KEY": openai_api.API_KEY}, provider="openai", model="does-not-exist",
                         base_url=f"{url}/v1")
        with pytest.raises(ProviderError) as err:
            await provider.complete("sys", [user_message("go")], TOOLS)
    assert err.value.status == 404 and not err.value.retryable
    assert "does not exist" in str(err.value) and "\n" not in str(err.value)


async def test_openai_429_waits_for_the_exhausted_limits_reset() -> None:
    fake = openai_api.FakeOpenAI()
    limited = {"x-ratelimit-remaining-requests": "12", "x-ratelimit-reset-requests": "9m",
               "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1.5s"}
    with serve_app(fake.app) as url:
        fake.script += [openai_api.Failure(429, "Rate limit reached", "tokens", limited),
                        openai_api.Completion(content="ok")]
        provider = build({"OPENAI_API_KEY": openai_api.API_KEY}, provider="openai", model="gpt-4o",
                         base_url=f"{url}/v1")
        started = time.monotonic()
        turn = await provider.complete("sys", [user_message("go")], TOOLS)
    # The token limit's reset (1.5 s), longer than the SDK's own first backoff (<= 0.5 s), and not 9 minutes.
    assert turn.text == "ok" and 1.5 <= time.monotonic() - started < 5
    assert (parse_duration("6m0s"), parse_duration("1h2m3.5s"), parse_duration("soon")) == (360, 3723.5, None)


def test_unknown_openai_model_uses_the_configured_price_or_is_unknown() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert OpenAIPricing().price("gpt-4o-2024-08-06", usage)[0].cost_usd == pytest.approx(12.5)  # dated id
    priced, known = OpenAIPricing().price("my-finetune", usage)
    assert (priced.cost_usd, known) == (0.0, False)
    provider = build({"OPENAI_API_KEY": "k"}, provider="openai", model="my-finetune", input_price_per_mtok=1,
                     output_price_per_mtok=2)
    assert provider.pricing.price("my-finetune", usage) == (usage.model_copy(update={"cost_usd": 3.0}), True)
    assert cost_text(Usage(steps=2, unpriced_turns=2)) == "cost unknown (2 turns of a model with no known price)"
    assert cost_text(Usage(steps=2, cost_usd=0.5)) == "$0.5000"


async def test_azure_uses_deployment_path_api_version_and_api_key_header() -> None:
    fake = openai_api.FakeOpenAI(azure=True)
    with serve_app(fake.app) as url:
        fake.script.append(openai_api.Completion(content="hi"))
        provider = build({"AZURE_OPENAI_API_KEY": openai_api.API_KEY}, provider="azure-openai", model="gpt-4o",
                         base_url=url, deployment="fixer-prod", api_version="2024-10-21")
        turn = await provider.complete("sys", [user_message("go")], TOOLS)
    assert turn.text == "hi" and not fake.rejections
    assert fake.paths == ["/openai/deployments/fixer-prod/chat/completions?api-version=2024-10-21"]


# ── OpenAI-compatible: missing ids, tool results as user text, json mode ────────────────


async def test_compatible_server_without_call_ids_gets_stable_ids(openai_fake: tuple[Any, str]) -> None:
    fake, url = openai_fake
    provider = build(provider="openai-compatible", model="local", base_url=f"{url}/v1")
    fake.script.append(openai_api.Completion(tool_calls=[("echo", {"text": "a"})], omit_ids=True))
    turn = await provider.complete("sys", [user_message("go")], TOOLS)
    assert [c.id for c in turn.tool_calls] == ["call_0_0"]
    assert "max_tokens" in fake.requests[0] and turn.usage.cost_usd == 0


async def test_json_mode_and_user_role_results_send_no_tool_messages(openai_fake: tuple[Any, str],
                                                                    tmp_path: Path) -> None:
    fake, url = openai_fake
    provider = build(provider="openai-compatible", model="no-tools", base_url=f"{url}/v1", tool_calling="json")
    fake.script += [
        openai_api.Completion(content='{"name": "echo", "arguments": {"text": "hi"}}'),
        openai_api.Completion(content='```json\n{"name": "submit_fix", "arguments": {"confidence": "LOW"}}\n```'),
    ]
    result = await run_agent(provider, SMALL_TOOLS, ToolContext(worktree=tmp_path), task="Fix it.")
    assert result.exit_reason == "submitted" and not fake.rejections
    first, second = fake.requests
    assert "tools" not in first and "How to call tools" in first["messages"][0]["content"]
    assert all(m["role"] in ("system", "user", "assistant") for m in second["messages"])
    assert "echo: hi" in second["messages"][-1]["content"]


# ── weak models, end to end through the real SDK ────────────────────────────────────────


async def run_weak(fake: openai_api.FakeOpenAI, url: str, tmp_path: Path, script: list[openai_api.Completion],
                   **limits: Any) -> FixResult:
    fake.script += script
    provider = build(provider="openai-compatible", model="tiny", base_url=f"{url}/v1")
    return await run_agent(provider, SMALL_TOOLS, ToolContext(worktree=tmp_path), task="Fix it.",
                           limits=Limits(**limits))


async def test_prose_tool_call_and_broken_json_are_repaired(openai_fake: tuple[Any, str], tmp_path: Path) -> None:
    fake, url = openai_fake
    result = await run_weak(fake, url, tmp_path, [
        openai_api.Completion(content="I will call echo: {'name': 'echo', 'arguments': {'text': 'x',}}"),
        openai_api.Completion(tool_calls=[("echo", '```json\n{"text": "y",}\n```')]),
        openai_api.Completion(tool_calls=[("submit_fix", "{'confidence': 'MEDIUM'}")]),
    ])
    assert result.exit_reason == "submitted" and result.confidence is Confidence.MEDIUM
    assert not fake.rejections  # the repaired calls went back as valid tool_calls / tool messages
    tool_messages = [m for m in fake.requests[-1]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["echo: x", "echo: y"]


@pytest.mark.parametrize(("script", "reason"), [
    ([openai_api.Completion(tool_calls=[("rm_rf", {})])] * 3, "malformed_calls"),
    ([openai_api.Completion(tool_calls=[("echo", {"text": "same"})])] * 5, "repeated_calls"),
    ([openai_api.Completion(content="I think it is fine.")] * 2, "no_tool_call"),
    ([openai_api.Completion(tool_calls=[("echo", {"text": str(i)})]) for i in range(9)], "max_steps"),
])
async def test_a_weak_model_always_ends_with_a_low_fix_result(
    openai_fake: tuple[Any, str], tmp_path: Path, script: list[openai_api.Completion], reason: str
) -> None:
    fake, url = openai_fake
    result = await run_weak(fake, url, tmp_path, script, max_steps=6)
    assert result.exit_reason == reason and result.confidence is Confidence.LOW
    assert result.usage.steps <= 6 and reason in {"malformed_calls", "repeated_calls", "no_tool_call", "max_steps"}


def test_repair_and_text_calls_reject_what_is_not_a_call() -> None:
    assert repair_arguments('{"a": 1,}') == {"a": 1}
    assert repair_arguments("{'a': True, 'b': None}") == {"a": True, "b": None}
    assert repair_arguments("__import__('os').system('x')") is None  # never evaluated as code
    assert repair_arguments('{"a": ') is None
    assert calls_from_text('{"name": "unknown_tool", "arguments": {}}', {"echo"}) == []
    assert calls_from_text('{"function": {"name": "echo", "arguments": "{\\"text\\": \\"t\\"}"}}', {"echo"}) == [
        ("echo", {"text": "t"})]


# ── Ollama ───────────────────────────────────────────────────────────────────────────────


async def test_ollama_num_ctx_from_api_show_keep_alive_and_synthesised_ids(ollama_fake: tuple[Any, str]) -> None:
    fake, url = ollama_fake
    provider = build(provider="ollama", model=ollama_api.MODEL, base_url=url, keep_alive="30m")
    fake.script.append(ollama_api.Chat(tool_calls=[("echo", {"text": "a"}), ("echo", {"text": "b"})]))
    turn = await provider.complete("sys", [user_message("go")], TOOLS)
    body = fake.requests[0]
    assert body["options"]["num_ctx"] == 8192  # llama.context_length in the recorded /api/show
    assert body["keep_alive"] == "30m" and body["stream"] is False
    assert [c.id for c in turn.tool_calls] == ["call_0_0", "call_0_1"] and turn.stop_reason == "tool_use"


async def test_ollama_configured_window_wins_and_a_missing_model_says_pull(ollama_fake: tuple[Any, str]) -> None:
    _fake, url = ollama_fake
    provider = build(provider="ollama", model=ollama_api.MODEL, base_url=url, context_window=4096, keep_alive="-1")
    assert await provider.context_window_tokens() == 4096
    assert provider.request("s", [], [], 100, 4096)["keep_alive"] == -1  # seconds go as a number
    missing = build(provider="ollama", model="nope:1b", base_url=url)
    with pytest.raises(ProviderError) as err:
        await missing.complete("sys", [user_message("go")], TOOLS)
    assert err.value.status == 404 and "not found" in str(err.value) and "ollama pull" in str(err.value)


async def test_an_8k_window_trims_the_first_message_and_tool_outputs(ollama_fake: tuple[Any, str],
                                                                   tmp_path: Path) -> None:
    fake, url = ollama_fake
    provider = build(provider="ollama", model=ollama_api.MODEL, base_url=url)
    fake.script += [ollama_api.Chat(tool_calls=[("echo", {"text": "z" * 5_000})]),
                    ollama_api.Chat(tool_calls=[("submit_fix", {})])]
    huge_task = "ValueError in app.py\n" + "frame line\n" * 20_000
    result = await run_agent(provider, SMALL_TOOLS, ToolContext(worktree=tmp_path), task=huge_task)
    assert result.exit_reason == "submitted"
    first, second = fake.requests
    for body in (first, second):  # every request, with its reply's reserve, fits the 8k window
        estimate = estimate_tokens(json.dumps(body["messages"]) + json.dumps(body["tools"]))
        assert estimate + body["options"]["num_predict"] <= 8192
    assert first["options"]["num_predict"] == 8192 // 4
    assert "trimmed to fit" in first["messages"][1]["content"]
    assert "to fit the model's context window" in second["messages"][-1]["content"]  # trimmed or elided


# ── Bedrock and Vertex: configuration ───────────────────────────────────────────────────


def test_bedrock_and_vertex_need_their_region_and_project(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "CLOUD_ML_REGION", "ANTHROPIC_VERTEX_PROJECT_ID",
                "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ProviderUnavailable, match="region"):
        build(provider="bedrock")
    with pytest.raises(ProviderUnavailable, match="project"):
        build(provider="vertex")
    bedrock = build({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}, provider="bedrock",
                    region="eu-central-1")
    assert bedrock.name == "bedrock" and "anthropic." in bedrock.model
    vertex = build({"AUTOFIXER_LLM_KEY": "ya29.token"}, provider="vertex", region="us-east5", project="p")
    assert vertex.name == "vertex" and vertex.pricing.price(vertex.model, Usage(input_tokens=10**6))[1]
