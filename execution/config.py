"""A project's execution environment: its `tests:` block, and the service-wide `sandbox:` mode.

    projects:
      - source-project: shop
        scm-repo: acme/shop
        tests:
          runner: pytest                      # pytest | unittest | node | npm | exit-code
          setup: ["pip install -e .[test]"]   # run once per environment, registries reachable
          command: "python -m pytest -q"      # default per runner
          test-dir: tests                     # where the reproduction test is written
          env: {DJANGO_SETTINGS_MODULE: shop.settings}

Setup commands and the test command are shell lines run by `sh -c` inside the sandbox, in the
worktree, with the environment's `bin/` first on PATH (so `python` and `pip` are the project's
own venv, and `node_modules/.bin` is on PATH for node projects).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from common.config import Section

Runner = Literal["pytest", "unittest", "node", "npm", "exit-code"]
SandboxMode = Literal["bwrap", "none"]
OnFailure = Literal["no-pr", "draft"]

# The test command each runner gets when `command:` is not set.
DEFAULT_COMMANDS: dict[str, str] = {
    "pytest": "python -m pytest",
    "unittest": "python -m unittest",
    "node": "node --test",
    "npm": "npm test --",
    "exit-code": "",
}
# The files whose content keys a runner's environment when `lock-files:` is not set.
DEFAULT_LOCK_FILES: dict[str, tuple[str, ...]] = {
    "python": ("requirements*.txt", "pyproject.toml", "setup.py", "setup.cfg", "poetry.lock", "uv.lock",
               "Pipfile.lock"),
    "node": ("package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml"),
}
# A variable in `env:` must not be a way to hand the sandbox a secret.
_SECRET_SHAPED = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)", re.IGNORECASE)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TestsConfig(Section):
    """How to build a project's environment and run its tests (`projects[].tests`)."""

    __test__ = False  # not a pytest test class, whatever its name says

    runner: Runner = "pytest"
    setup: list[str] = Field(default_factory=list)
    command: str | None = None  # None: DEFAULT_COMMANDS[runner]; required for exit-code
    test_dir: str = "tests"
    env: dict[str, str] = Field(default_factory=dict)
    lock_files: list[str] | None = None  # globs at the repository root; None: the runner's defaults
    python: str | None = None  # the interpreter the venv is made from ("python3.12"); None: autofixer's own
    # The hosts setup may reach (HTTPS, port 443, or host:port), through autofixer's proxy; None:
    # the public registries (execution/registry_proxy.py DEFAULT_REGISTRIES). Runs reach nothing.
    registries: list[str] | None = None
    timeout_seconds: float = Field(600.0, gt=0, le=6 * 3600)
    setup_timeout_seconds: float = Field(1200.0, gt=0, le=6 * 3600)
    memory_mb: int = Field(4096, ge=64)
    max_processes: int = Field(512, ge=8)
    max_output_bytes: int = Field(8 * 1024 * 1024, ge=4096)
    keep_reproduction: bool = True  # the reproduction test is part of the pull request
    on_failure: OnFailure = "no-pr"  # a fix whose validation fails: no PR, or a draft marked "tests failing"

    @field_validator("env")
    @classmethod
    def _no_secrets(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
            if _SECRET_SHAPED.search(name):
                raise ValueError(f"{name} looks like a secret; the sandbox gets no secrets, so it cannot be set here")
        return env

    @field_validator("test_dir")
    @classmethod
    def _relative(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not value or value.startswith(".") or ".." in value.split("/"):
            raise ValueError("must be a folder inside the repository, e.g. tests")
        return value

    @property
    def test_command(self) -> str:
        command = self.command or DEFAULT_COMMANDS[self.runner]
        if not command:
            raise ValueError("tests.command is required with runner: exit-code")
        return command

    @property
    def language(self) -> Literal["python", "node"]:
        if self.runner in ("node", "npm"):
            return "node"
        if self.runner == "exit-code" and self.setup and any("npm" in s or "node" in s for s in self.setup):
            return "node"
        return "python"
