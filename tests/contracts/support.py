"""What every contract suite shares: building a connector the way the service does, the handful
of things a harness is handed, the parametrisation over harnesses, and the secret checks.

A harness is a small class, one per connector, that starts the connector's local fake, builds the
connector *through the registry* (a config entry as a user would write it, plus environment
variables, through `parse_settings`, `Secrets` and `server.connectors`) and answers the few
questions the assertions ask of the fake. Each suite declares what its harnesses answer in an
abstract base class; adding a connector is one subclass of it plus one line in the suite's list.
"""

from __future__ import annotations

import contextlib
import subprocess
import traceback
from abc import ABC
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from agent.provider import ModelProvider
from server import connectors
from server.config import Secrets, Settings, parse_settings
from tests.test_github import FakeTime
from tests.test_workspace import commit, git

# Retries in the contract suites wait a hundredth of a second at first (connectors that take an
# injected clock wait no time at all): fast, but still real retries over real HTTP.
FAST_WORKER = {"sentry-backoff-seconds": 0.01}

_BUILDERS: dict[str, Callable[[Settings, Secrets], Any]] = {
    "sources": connectors.build_sources,
    "scms": connectors.build_forges,
    "notify": connectors.build_notifiers,
}


@dataclass
class Given:
    """What every harness is handed by the suite's fixture."""

    tmp_path: Path
    time: FakeTime  # an injectable sleep/clock pair that records waits and takes no time
    caplog: pytest.LogCaptureFixture


class Harness(ABC):
    """The part every harness has: its registry name and the bugs it is known to have. A suite's
    harness base declares the rest as abstract methods, so a harness that misses one fails loudly.

    `KNOWN_BUGS` maps a case id (as it appears in the test id after the harness name) to the
    reason; that case then runs as `xfail(strict=True)`, so fixing the bug makes the suite say so.
    """

    kind: ClassVar[str]
    KNOWN_BUGS: ClassVar[dict[str, str]] = {}

    def __init__(self, given: Given) -> None:
        self.given = given

    def serve(self) -> contextlib.AbstractContextManager[None]:
        """Start the connector's fake for the duration of one test (default: nothing to start)."""
        return contextlib.nullcontext()


def harness_fixture(name: str, harnesses: list[type[Harness]]) -> Any:
    """The fixture `name`: each harness of `harnesses` in turn, its fake started. Assign it to
    a module attribute (`forge = harness_fixture("forge", FORGES)`) for pytest to find it."""

    @pytest.fixture(name=name, params=harnesses, ids=lambda h: h.kind)
    def running(request: pytest.FixtureRequest, given: Given) -> Iterator[Harness]:
        harness = request.param(given)
        with harness.serve():
            yield harness

    return running


def cases(harnesses: Iterable[type[Harness]], per_harness: Callable[[type[Harness]], Iterable[str]]) -> list[Any]:
    """`(harness, case)` parameters for every harness and each of its case ids, with the
    harness's known bugs marked strict xfail. Use with `indirect=["<harness fixture>"]`."""
    params = []
    for harness in harnesses:
        for case in per_harness(harness):
            bug = harness.KNOWN_BUGS.get(case)
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            params.append(pytest.param(harness, case, id=f"{harness.kind}-{case}", marks=marks))
    return params


def settings_for(**sections: Any) -> Settings:
    raw = {"worker": FAST_WORKER, **{k.replace("_", "-"): v for k, v in sections.items()}}
    return parse_settings(raw, source="contract")


def build_connector(section: str, entry: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    """The one connector a `sources:` / `scms:` / `notify:` entry configures, built as the
    service builds it (settings validation, secrets from `env` only, the registry)."""
    settings = settings_for(**{section: [dict(entry)]})
    built = _BUILDERS[section](settings, Secrets(settings, environ=dict(env)))
    [connector] = built.values() if isinstance(built, dict) else built
    return connector


def build_provider(llm: Mapping[str, Any], env: Mapping[str, str]) -> ModelProvider:
    settings = settings_for(llm=dict(llm))
    return connectors.build_provider(settings.llm, connectors.context(settings, Secrets(settings, environ=dict(env))))


# ── a forge-side repository ─────────────────────────────────────────────────────────────────


def make_origin(bare: Path) -> Path:
    """A bare repository at `bare` with one commit on main (what a forge fake serves)."""
    source = bare.parent / f"{bare.name}.source"
    source.mkdir(parents=True)
    git(source, "init", "-q", "-b", "main")
    commit(source, {"shop/cart.py": "def total(items):\n    return sum(i.price for i in items)\n"}, "initial")
    git(bare.parent, "clone", "-q", "--bare", str(source), str(bare))
    return bare


def make_worktree(origin: Path, where: Path) -> Path:
    """A checkout of `origin` with one fix commit on a detached HEAD, like a job's worktree."""
    git(where.parent, "clone", "-q", str(origin), str(where))
    git(where, "checkout", "-q", "--detach")
    commit(where, {"shop/cart.py": "def total(items):\n    return sum(i.price for i in items or [])\n"}, "fix: none")
    return where


def is_valid_branch_name(name: str) -> bool:
    """What git itself says (`git check-ref-format --branch`)."""
    return subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True).returncode == 0


# ── secrets ─────────────────────────────────────────────────────────────────────────────────


def exception_texts(errors: Iterable[BaseException]) -> list[str]:
    """str, repr and the whole printed traceback (chained causes included) of each error."""
    return [t for e in errors for t in (str(e), repr(e), "".join(traceback.format_exception(e)))]


def assert_secret_free(texts: Iterable[str], secrets: Iterable[str]) -> None:
    texts, secrets = list(texts), [s for s in secrets if s]
    assert secrets, "a secret check needs secrets to look for"
    for secret in secrets:
        leaks = [t for t in texts if secret in t]
        assert not leaks, f"a secret ({secret[:4]}…) appears in: {leaks[0][:500]!r}"


def http_pools(monkeypatch: pytest.MonkeyPatch) -> list[httpx.AsyncClient]:
    """Every httpx client (a connection pool and an SSL context) made from now on, in order."""
    pools: list[httpx.AsyncClient] = []
    real_init = httpx.AsyncClient.__init__

    def counted(self: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        pools.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "__init__", counted)
    return pools
