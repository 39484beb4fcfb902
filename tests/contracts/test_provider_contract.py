"""The ModelProvider contract (agent/provider.py), run against every provider buildable offline.

A provider that calls an API is driven by its vendor's real SDK over real HTTP on 127.0.0.1,
against a local fake of the API (tests/fakes/anthropic_api.py for the Messages API); the replay
provider plays a small recording written for the case. Every provider is built the way the
service builds it: an `llm:` section plus environment variables, through the registry.

The turns a case needs are scripted in neutral words (`Scripted`: a normalised stop reason, text,
tool calls, token counts) and each harness renders them in its vendor's format: Anthropic's
`tool_use`, OpenAI's `tool_calls`, Ollama's `done_reason`…

Adding a provider (OpenAI, Ollama, any OpenAI-compatible server, …): write its fake in
tests/fakes/, subclass `ProviderHarness` below (start the fake; the `llm:` section and the key's
variable; render a `Scripted` turn and a 5xx in the vendor's wire format: about thirty lines, see
`AnthropicHarness`) and add the class to `PROVIDERS`. Every case then runs against it.
"""

from __future__ import annotations

import contextlib
import logging
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import pytest

from agent.anthropic_provider import DEFAULT_MAX_RETRIES
from agent.openai_provider import DEFAULT_MAX_RETRIES as OPENAI_MAX_RETRIES
from agent.pricing import DEFAULT_MODEL
from agent.provider import (
    ModelProvider,
    ModelTurn,
    ProviderError,
    ProviderUnavailable,
    StopReason,
    ToolCall,
    assistant_message,
    tool_results_message,
    user_message,
)
from agent.replay_provider import Recording
from domain import Usage
from tests.contracts.support import (
    Given,
    Harness,
    assert_secret_free,
    build_provider,
    cases,
    exception_texts,
    harness_fixture,
)
from tests.fakes import ollama_api, openai_api
from tests.fakes.anthropic_api import API_KEY, Failure, FakeAnthropic, Turn, text, tool_use
from tests.fakes.anthropic_cloud_api import FakeCloudClaude
from tests.fakes.serve import serve_app

SYSTEM = "You fix production errors. Investigate with the tools, then answer."
TASK = "ZeroDivisionError in shop/cart.py line 3: find the cause."
TOOLS = [{
    "name": "read_file",
    "description": "Read one file of the repository.",
    "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
}]
READ_CART = ("read_file", {"path": "shop/cart.py"})
ALL_STOP_REASONS: tuple[StopReason, ...] = ("end_turn", "tool_use", "max_tokens", "refusal")


@dataclass(frozen=True)
class Scripted:
    """One assistant turn, in the contract's words; each harness renders it for its vendor."""

    stop: StopReason
    text: str = "Looking into it."
    calls: tuple[tuple[str, dict[str, Any]], ...] = field(default=())
    input_tokens: int = 1000
    output_tokens: int = 100
    recorded_cost: float = 0.0123  # what a recording says the turn cost when it was recorded


def tool_turn() -> Scripted:
    return Scripted("tool_use", calls=(READ_CART,))


class ProviderHarness(Harness):
    """One provider and its fake. Script every turn a case needs, then build the provider."""

    # How turns are priced: by the vendor's price list ("priced"), as recorded ("recorded", a
    # replay pays nothing again) or not at all ("free", a local model).
    COST: ClassVar[Literal["priced", "recorded", "free"]]
    STOP_REASONS: ClassVar[tuple[StopReason, ...]] = ALL_STOP_REASONS  # those the vendor can report
    UNKNOWN_MODEL: ClassVar[str | None] = None  # a model missing from a "priced" price list
    # What such a model costs: "fallback" (a conservative high price, flagged) or "unknown" (0 and
    # flagged: reported as "cost unknown", never a made-up price; see agent/openai_pricing.py).
    UNKNOWN_COST: ClassVar[Literal["fallback", "unknown"]] = "fallback"
    UNAVAILABLE: ClassVar[tuple[str, ...]] = ("no-key",)  # ways it cannot start (case ids of `unavailable`)

    @abstractmethod
    def llm(self, model: str | None = None) -> dict[str, Any]:
        """The `llm:` section a user would write (it may point at the fake's URL)."""

    @abstractmethod
    def env(self) -> dict[str, str]:
        """The environment holding the provider's key ({} when it needs none)."""

    @abstractmethod
    def script(self, turn: Scripted) -> None:
        """Have the next call answered with `turn`, in the vendor's format."""

    def script_server_error(self, status: int) -> bool:
        """Have the next call fail with `status` on every attempt the client makes (retries
        included, without real waits); False when the provider talks to no server."""
        return False

    def unavailable(self, case: str) -> tuple[dict[str, Any], dict[str, str]]:
        """An `llm:` section and environment the provider cannot start with, for each UNAVAILABLE."""
        assert case == "no-key"
        return self.llm(), {}

    def provider(self, model: str | None = None) -> ModelProvider:
        return build_provider(self.llm(model), self.env())


# ── Anthropic: the real SDK against the local Messages API fake ──────────────────────────────


class AnthropicHarness(ProviderHarness):
    kind = "anthropic"
    COST = "priced"
    UNKNOWN_MODEL = "claude-unknown-9"

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        self.fake = FakeAnthropic([])
        with serve_app(self.fake.app) as url:
            self.url = url
            yield

    def llm(self, model: str | None = None) -> dict[str, Any]:
        return {"provider": "anthropic", "model": model or DEFAULT_MODEL, "base-url": self.url}

    def env(self) -> dict[str, str]:
        return {"AUTOFIXER_LLM_KEY": API_KEY}

    def script(self, turn: Scripted) -> None:
        blocks = [text(turn.text)] + [tool_use(name, args) for name, args in turn.calls]
        self.fake.script.append(Turn(blocks, stop_reason=turn.stop, input_tokens=turn.input_tokens,
                                     output_tokens=turn.output_tokens))

    def script_server_error(self, status: int) -> bool:
        # retry-after-ms: the SDK retries as it would, a millisecond apart.
        for _ in range(DEFAULT_MAX_RETRIES + 1):
            self.fake.script.append(Failure(status, "api_error", "Internal server error", {"retry-after-ms": "1"}))
        return True


# ── replay: a small recording ────────────────────────────────────────────────────────────────


class ReplayHarness(ProviderHarness):
    kind = "replay"
    COST = "recorded"
    UNAVAILABLE = ("no-replay-file", "missing-replay-file", "corrupt-replay-file")
    KNOWN_BUGS: ClassVar[dict[str, str]] = {}

    def __init__(self, given: Given) -> None:
        super().__init__(given)
        self.turns: list[ModelTurn] = []

    def llm(self, model: str | None = None) -> dict[str, Any]:
        recording = self.given.tmp_path / "recording.json"
        recording.write_text(Recording(label="contract suite", model=model or DEFAULT_MODEL,
                                       turns=self.turns).model_dump_json(indent=1))
        return {"provider": "replay", "replay-file": str(recording)}

    def env(self) -> dict[str, str]:
        return {}

    def script(self, turn: Scripted) -> None:
        calls = [ToolCall(id=f"toolu_{len(self.turns)}_{i}", name=name, arguments=args)
                 for i, (name, args) in enumerate(turn.calls)]
        usage = Usage(input_tokens=turn.input_tokens, output_tokens=turn.output_tokens, cost_usd=turn.recorded_cost)
        self.turns.append(ModelTurn(text=turn.text, tool_calls=calls, stop_reason=turn.stop, usage=usage,
                                    model=DEFAULT_MODEL))

    def unavailable(self, case: str) -> tuple[dict[str, Any], dict[str, str]]:
        if case == "no-replay-file":
            return {"provider": "replay"}, {}
        path = self.given.tmp_path / f"{case}.json"
        if case == "corrupt-replay-file":
            path.write_text('{"label": "cut short", "turns": [')
        return {"provider": "replay", "replay-file": str(path)}, {}


# ── OpenAI Chat Completions (OpenAI, Azure OpenAI, any compatible server): the `openai` SDK ──


class OpenAIHarness(ProviderHarness):
    kind = "openai"
    COST = "priced"
    UNKNOWN_MODEL = "gpt-unknown-9"
    UNKNOWN_COST = "unknown"
    MODEL = "gpt-4o"
    KEY_ENV = "AUTOFIXER_LLM_KEY"

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        self.fake = self.make_fake()
        with serve_app(self.fake.app) as url:
            self.url = url
            yield

    def make_fake(self) -> openai_api.FakeOpenAI:
        return openai_api.FakeOpenAI()

    def llm(self, model: str | None = None) -> dict[str, Any]:
        return {"provider": self.kind, "model": model or self.MODEL, "base-url": f"{self.url}/v1"}

    def env(self) -> dict[str, str]:
        return {self.KEY_ENV: openai_api.API_KEY}

    def script(self, turn: Scripted) -> None:
        finish = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length",
                  "refusal": "content_filter"}[turn.stop]
        self.fake.script.append(openai_api.Completion(
            content=turn.text, tool_calls=list(turn.calls), finish_reason=finish,
            prompt_tokens=turn.input_tokens, completion_tokens=turn.output_tokens))

    def script_server_error(self, status: int) -> bool:
        for _ in range(OPENAI_MAX_RETRIES + 1):  # retry-after-ms: the SDK retries a millisecond apart
            self.fake.script.append(openai_api.Failure(status, headers={"retry-after-ms": "1"}))
        return True


class AzureOpenAIHarness(OpenAIHarness):
    kind = "azure-openai"
    KEY_ENV = "AZURE_OPENAI_API_KEY"  # the vendor's usual variable works too
    UNAVAILABLE = ("no-key", "no-endpoint")

    def make_fake(self) -> openai_api.FakeOpenAI:
        return openai_api.FakeOpenAI(azure=True)

    def llm(self, model: str | None = None) -> dict[str, Any]:
        return {"provider": self.kind, "model": model or self.MODEL, "base-url": self.url,
                "deployment": "fixer-prod", "api-version": "2024-10-21"}

    def unavailable(self, case: str) -> tuple[dict[str, Any], dict[str, str]]:
        if case == "no-endpoint":
            return {k: v for k, v in self.llm().items() if k != "base-url"}, self.env()
        return super().unavailable(case)


class OpenAICompatibleHarness(OpenAIHarness):
    kind = "openai-compatible"
    COST = "free"
    UNKNOWN_MODEL = None
    MODEL = "qwen2.5-coder-7b-instruct"  # whatever the server serves
    UNAVAILABLE = ("no-base-url",)

    # A server started with a key (vLLM's --api-key, a LiteLLM proxy); keyless servers are the
    # default (tests/test_real_llm.py runs one).

    def unavailable(self, case: str) -> tuple[dict[str, Any], dict[str, str]]:
        return {"provider": self.kind, "model": self.MODEL}, {}


# ── Ollama: its native /api/chat over the shared HTTP client ─────────────────────────────────


class OllamaHarness(ProviderHarness):
    kind = "ollama"
    COST = "free"
    STOP_REASONS = ("end_turn", "tool_use", "max_tokens")  # Ollama has no refusal
    UNAVAILABLE = ()

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        self.fake = ollama_api.FakeOllama()
        with serve_app(self.fake.app) as url:
            self.url = url
            yield

    def llm(self, model: str | None = None) -> dict[str, Any]:
        return {"provider": "ollama", "model": model or ollama_api.MODEL, "base-url": self.url}

    def env(self) -> dict[str, str]:
        return {}

    def script(self, turn: Scripted) -> None:
        reason = "length" if turn.stop == "max_tokens" else "stop"
        self.fake.script.append(ollama_api.Chat(content=turn.text, tool_calls=list(turn.calls), done_reason=reason,
                                                prompt_eval_count=turn.input_tokens, eval_count=turn.output_tokens))

    def script_server_error(self, status: int) -> bool:
        self.fake.script.extend(ollama_api.Failure(status) for _ in range(10))
        return True


# ── Claude on Bedrock and Vertex: the `anthropic` SDK's cloud clients ────────────────────────


class BedrockHarness(AnthropicHarness):
    kind = "bedrock"
    UNKNOWN_MODEL = "us.anthropic.claude-unknown-9-v1:0"
    UNAVAILABLE = ()  # a missing region: tests/test_providers.py (it depends on AWS_REGION)
    REGION = "eu-central-1"
    KEY_ID = "AKIDEXAMPLE0TEST0KEY"

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        self.fake = FakeCloudClaude("bedrock", credential=self.KEY_ID, region=self.REGION)  # type: ignore[assignment]
        with serve_app(self.fake.app) as url:
            self.url = url
            yield

    def llm(self, model: str | None = None) -> dict[str, Any]:
        return {"provider": "bedrock", "model": model or "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "region": self.REGION, "base-url": self.url}

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.KEY_ID, "AWS_SECRET_ACCESS_KEY": "test-secret-access-key-not-real"}


class VertexHarness(AnthropicHarness):
    kind = "vertex"
    UNKNOWN_MODEL = "claude-unknown-9@20990101"
    UNAVAILABLE = ()  # a missing project: tests/test_providers.py (it depends on the environment)
    TOKEN = "ya29.test-token-not-real"

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        self.fake = FakeCloudClaude("vertex", credential=self.TOKEN, region="us-east5")  # type: ignore[assignment]
        with serve_app(self.fake.app) as url:
            self.url = url
            yield

    def llm(self, model: str | None = None) -> dict[str, Any]:
        return {"provider": "vertex", "model": model or "claude-sonnet-4-5@20250929", "region": "us-east5",
                "project": "test-project", "base-url": f"{self.url}/v1"}

    def env(self) -> dict[str, str]:
        return {"AUTOFIXER_LLM_KEY": self.TOKEN}


PROVIDERS: list[type[ProviderHarness]] = [
    AnthropicHarness, ReplayHarness, OpenAIHarness, AzureOpenAIHarness, OpenAICompatibleHarness, OllamaHarness,
    BedrockHarness, VertexHarness,
]


# ── fixtures ─────────────────────────────────────────────────────────────────────────────────


llm = harness_fixture("llm", PROVIDERS)


async def one_turn(llm: ProviderHarness, turn: Scripted, model: str | None = None) -> tuple[ModelProvider, ModelTurn]:
    llm.script(turn)
    provider = llm.provider(model)
    return provider, await provider.complete(SYSTEM, [user_message(TASK)], TOOLS)


# ── the contract ─────────────────────────────────────────────────────────────────────────────


def test_is_a_model_provider(llm: ProviderHarness) -> None:
    provider = llm.provider()
    assert isinstance(provider, ModelProvider)
    assert provider.name == llm.kind and provider.model
    assert callable(getattr(provider.pricing, "price", None))


async def test_a_tool_use_turn_then_an_end_turn(llm: ProviderHarness) -> None:
    llm.script(Scripted("tool_use", text="Let me read the file.", calls=(READ_CART,)))
    llm.script(Scripted("end_turn", text="The total divides by an empty count."))
    provider = llm.provider()

    first = await provider.complete(SYSTEM, [user_message(TASK)], TOOLS)

    assert first.stop_reason == "tool_use" and first.vendor_stop_reason
    [call] = first.tool_calls
    assert call.id and (call.name, call.arguments) == READ_CART
    # A durable step checkpoints the turn as JSON; the conversation goes on from the record.
    recorded = ModelTurn.model_validate_json(first.model_dump_json())
    assert recorded == first
    messages = [
        user_message(TASK),
        assistant_message(recorded, provider.name),
        tool_results_message([{"tool_call_id": call.id, "content": "def total(items): ...", "is_error": False}]),
    ]

    second = await provider.complete(SYSTEM, messages, TOOLS)

    assert second.stop_reason == "end_turn" and second.tool_calls == []
    assert second.text == "The total divides by an empty count."


@pytest.mark.parametrize(("llm", "case"), cases(PROVIDERS, lambda h: h.STOP_REASONS), indirect=["llm"])
async def test_stop_reasons_are_normalised(llm: ProviderHarness, case: StopReason) -> None:
    _, turn = await one_turn(llm, tool_turn() if case == "tool_use" else Scripted(case))
    assert turn.stop_reason == case and turn.vendor_stop_reason


async def test_usage_is_priced_by_the_providers_own_pricing(llm: ProviderHarness) -> None:
    scripted = Scripted("end_turn", input_tokens=1000, output_tokens=100)
    provider, turn = await one_turn(llm, scripted)

    assert (turn.usage.input_tokens, turn.usage.output_tokens) == (1000, 100)
    assert turn.model
    repriced, known = provider.pricing.price(turn.model, turn.usage)
    assert repriced.cost_usd == pytest.approx(turn.usage.cost_usd)
    assert known and turn.cost_estimated is False  # the harness's default model has a known price
    if llm.COST == "priced":
        assert turn.usage.cost_usd > 0
    elif llm.COST == "recorded":
        assert turn.usage.cost_usd == scripted.recorded_cost  # nothing is paid again
    else:
        assert turn.usage.cost_usd == 0


async def test_an_unknown_model_is_priced_high_and_flagged(llm: ProviderHarness) -> None:
    if llm.UNKNOWN_MODEL is None:
        pytest.skip(f"{llm.kind} prices turns {llm.COST}: no model is unknown to it")
    _, turn = await one_turn(llm, Scripted("end_turn"), model=llm.UNKNOWN_MODEL)
    assert turn.cost_estimated
    if llm.UNKNOWN_COST == "fallback":
        assert turn.usage.cost_usd > 0  # never free: the budget still stops the run
    else:
        assert turn.usage.cost_usd == 0  # never a made-up price: flagged, reported as "cost unknown"


async def test_a_5xx_is_a_provider_error_with_its_status(
    llm: ProviderHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    if not llm.script_server_error(500):
        pytest.skip(f"{llm.kind} talks to no server")
    with pytest.raises(ProviderError) as err:
        await llm.provider().complete(SYSTEM, [user_message(TASK)], TOOLS)
    assert err.value.status == 500 and err.value.retryable
    if llm.env():  # a provider without a key (Ollama) has no secret to leak
        assert_secret_free([caplog.text, *exception_texts([err.value])], llm.env().values())


async def test_a_turn_the_upstream_cannot_give_is_a_provider_error(llm: ProviderHarness) -> None:
    provider = llm.provider()  # nothing scripted: the fake refuses, the recording has no turn
    with pytest.raises(ProviderError):
        await provider.complete(SYSTEM, [user_message(TASK)], TOOLS)


@pytest.mark.parametrize(("llm", "case"), cases(PROVIDERS, lambda h: h.UNAVAILABLE), indirect=["llm"])
def test_what_it_cannot_start_with_is_provider_unavailable(llm: ProviderHarness, case: str) -> None:
    section, env = llm.unavailable(case)
    with pytest.raises(ProviderUnavailable) as err:
        build_provider(section, env)
    assert str(err.value)  # says what to set
