"""Configuration loading: seed keys, defaults, secrets only from the environment, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from domain import Confidence
from server.config import ConfigError, Secrets, load_settings, parse_settings

ROOT = Path(__file__).resolve().parents[1]

SEED_STYLE = """
autofixer:
  source:
    type: sentry
    base-url: https://sentry.example.com/
    org: my-org
  scm:
    type: github
  llm:
    provider: claude
    model: claude-sonnet-5-5
  projects:
    - source-project: my-backend
      scm-repo: org/backend-api
      source-root: src/main/kotlin/
      default-branch: main
  behavior:
    auto-pr: true
    min-confidence: HIGH
    labels: [auto-fix, ai-generated]
    branch-prefix: fix/auto-fixer-
    dry-run: true
"""


def test_the_seed_application_yml_shape_loads(tmp_path: Path) -> None:
    path = tmp_path / "autofixer.yml"
    path.write_text(SEED_STYLE)
    settings = load_settings(path)
    assert settings.source_config().base_url == "https://sentry.example.com"  # type: ignore[attr-defined]
    assert settings.project_for("my-backend").source_root == "src/main/kotlin/"
    assert settings.behavior.min_confidence is Confidence.HIGH and settings.behavior.dry_run
    assert settings.project_for("other") is None


def test_snake_case_keys_are_accepted_too() -> None:
    settings = parse_settings({"behavior": {"dry_run": True, "branch_prefix": "x/"}, "state_dir": "/tmp/s"})
    assert settings.behavior.dry_run and settings.behavior.branch_prefix == "x/"
    assert str(settings.state_dir) == "/tmp/s"


def test_the_committed_example_is_valid() -> None:
    settings = load_settings(ROOT / "autofixer.example.yml")
    assert settings.projects[0].scm_repo == "my-org/backend-api"


def test_no_file_means_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOFIXER_CONFIG", raising=False)
    settings = load_settings(None)
    assert settings.llm.model == "claude-sonnet-5-5" and settings.server.port == 8080
    assert settings.system_database_url.startswith("sqlite:///")


def test_an_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yml")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"behavior": {"min-confidence": "SUPER"}}, "behavior.min-confidence: Input should be"),
        ({"scm": {"tpye": "github"}}, "scm.tpye: unknown key"),
        ({"projects": [{"source-project": "a"}]}, "projects[0].scm-repo: Field required"),
        ({"source": {"base-url": "sentry.io"}}, "source.base-url: Value error, must be an http"),
        ({"server": {"port": 99999}}, "server.port: Input should be less than or equal to 65535"),
        ({"llm": {"provider": "gpt-2"}}, "llm.provider: unknown provider 'gpt-2' (known: anthropic"),
        (["not", "a", "mapping"], "top level must be a mapping"),
    ],
)
def test_bad_values_name_the_key(raw: object, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, source="autofixer.yml")
    assert expected in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("key", ["token", "webhook-secret", "api-key"])
def test_secrets_in_the_file_are_refused_without_echoing_them(key: str) -> None:
    value = "s3cr3t-value-that-must-not-echo"
    with pytest.raises(ConfigError) as info:
        parse_settings({"source": {key: value}})
    assert "environment" in str(info.value) and value not in str(info.value)


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOFIXER_WEBHOOK_SECRET", "new-one, old-one ,")
    monkeypatch.delenv("AUTOFIXER_LLM_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-llm-key-not-real")
    secrets = Secrets()
    assert secrets.get("ANTHROPIC_API_KEY") == "test-llm-key-not-real"
    assert "test-llm-key-not-real" not in repr(secrets)
    assert {"test-llm-key-not-real", "new-one", "old-one"} <= set(secrets.values())


def test_environment_overrides_for_deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOFIXER_DATABASE_URL", "postgresql://u@db/autofixer")
    monkeypatch.setenv("AUTOFIXER_PORT", "9000")
    settings = load_settings(ROOT / "autofixer.example.yml")
    assert settings.system_database_url == "postgresql://u@db/autofixer" and settings.server.port == 9000


@pytest.mark.parametrize("config_after_command", [False, True])
def test_cli_prints_one_line_and_exits_non_zero_on_a_bad_file(tmp_path: Path, config_after_command: bool) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("behavior:\n  min-confidence: SUPER\n  token: hunter2-secret\n")
    argv = ["serve", "--config", str(path)] if config_after_command else ["--config", str(path), "serve"]
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", *argv],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "behavior.token" in result.stderr and "hunter2-secret" not in result.stderr


def test_cli_reports_invalid_yaml_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("source:\n  org: [unclosed\n")
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "--config", str(path), "serve"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "not valid YAML (line" in result.stderr


def test_a_project_can_tighten_or_loosen_its_patch_policy() -> None:
    settings = parse_settings({"projects": [
        {"source-project": "a", "scm-repo": "o/a", "patch-policy": {"deny": ["migrations/**"],
                                                                     "allow": ["config/settings.toml"]}},
        {"source-project": "b", "scm-repo": "o/b"},
    ]})
    strict, default = settings.projects[0].patch_policy, settings.projects[1].patch_policy
    assert strict.check("migrations/0001_init.py") and not default.check("migrations/0001_init.py")
    assert default.check(".github/workflows/ci.yml") and strict.check(".github/workflows/ci.yml")
    with pytest.raises(ConfigError, match=r"projects\[0\]\.patch-policy\.denyy: unknown key"):
        parse_settings({"projects": [{"source-project": "a", "scm-repo": "o/a", "patch-policy": {"denyy": []}}]})
