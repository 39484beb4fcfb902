"""What the quick answers of the CLI import (issue 16, item 5): `--help`, a bad configuration and
`serve`'s check of a good one must not load the model SDKs, the job runtime or the eval runner,
which cost seconds of start-up between them. Each case runs in a fresh interpreter and reports
`sys.modules`; nothing here is timed (bench/startup.py times them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

# Loaded only once a job or an eval needs them.
HEAVY = ("anthropic", "openai", "boto3", "botocore", "google.auth", "git", "mcp", "dbos", "sqlalchemy", "psycopg",
         "quart", "hypercorn", "evals.runner", "agent.loop")


def _modules_after(code: str, tmp_path: Path) -> set[str]:
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOFIXER_", "ANTHROPIC_", "OPENAI_"))}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env={**env, "AUTOFIXER_LLM_KEY": "sk-test-not-real"})
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in HEAVY if m in modules)


def test_help_imports_no_sdk(tmp_path: Path) -> None:
    modules = _modules_after("""
        import contextlib, io
        from server.cli import main
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            main(["--help"])
        """, tmp_path)
    assert "server.cli" in modules
    assert _heavy(modules) == []
    assert "pydantic" not in modules  # argparse only: the help is printed before any model is built


def test_a_bad_config_is_answered_without_any_sdk(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("behavior:\n  min-confidence: SUPER\n")
    modules = _modules_after("""
        import contextlib, io
        from server.cli import main
        with contextlib.redirect_stderr(io.StringIO()):
            assert main(["--config", "bad.yml", "serve"]) == 2
        """, tmp_path)
    assert "server.config" in modules
    assert _heavy(modules) == []


@pytest.mark.parametrize("llm", [
    {"provider": "anthropic"},
    {"provider": "openai"},
    {"provider": "azure-openai", "base-url": "https://example.openai.azure.com"},
    {"provider": "bedrock", "region": "us-east-1"},
    {"provider": "vertex", "region": "us-east5", "project": "p"},
])
def test_serve_checks_a_good_config_without_the_model_sdk(tmp_path: Path, llm: dict[str, str]) -> None:
    config = {"source": {"type": "sentry", "org": "acme"}, "llm": llm, "state-dir": str(tmp_path / "state"),
              "projects": [{"source-project": "shop", "scm-repo": "acme/shop"}]}
    (tmp_path / "autofixer.yml").write_text(yaml.safe_dump(config))
    modules = _modules_after("""
        from server import preflight
        from server.config import Secrets, load_settings
        settings = load_settings("autofixer.yml")
        problems = preflight.warnings(settings, Secrets(settings))
        assert not any(p.startswith("llm:") for p in problems), problems
        """, tmp_path)
    assert "server.preflight" in modules
    assert _heavy(modules) == []
