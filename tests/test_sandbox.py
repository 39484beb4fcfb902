"""The sandbox, attacked by the code it runs: every test here plays LLM-written code (a test, a
conftest.py, a setup command) trying to escape, and checks that it was contained and that the
run still ended with a report naming what happened.

Where cheap, the same attack also runs under `sandbox: none` and is seen to succeed there, so
each isolation test demonstrably fails when its isolation is missing.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from execution.config import TestsConfig
from execution.engine import Environment, ExecutionUnavailable, TestEngine
from execution.limits import CGROUP_ROOT, _own_group
from execution.report import TestReport, TestSelection
from tests.execution_fixtures import python_project, sandboxed_engine, tcp_listener, vendored_pytest

pytestmark = pytest.mark.slow

FILES = {
    "demo/__init__.py": "def add(a, b):\n    return a + b\n",
    "tests/__init__.py": "",
    "tests/test_demo.py": """\
        from demo import add

        def test_add():
            assert add(1, 2) == 3

        def test_add_negative():
            assert add(-1, -2) == -3
        """,
}
ATTACK = "tests/test_attack.py"


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "_vendor" not in p.parts}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox")


@pytest.fixture(scope="module")
def project(workdir: Path) -> Path:
    return python_project(workdir / "jobs" / "repo", FILES)


@pytest.fixture(scope="module")
def engine(workdir: Path) -> TestEngine:
    return sandboxed_engine(workdir / "state")


@pytest.fixture(scope="module")
def environment(engine: TestEngine, project: Path) -> Environment:
    return asyncio.run(engine.prepare("acme/demo", project, vendored_pytest()))


@pytest.fixture(scope="module")
def unsandboxed(workdir: Path) -> TestEngine:
    return TestEngine(workdir / "state-none", mode="none")


@pytest.fixture(scope="module")
def unsandboxed_env(unsandboxed: TestEngine, project: Path) -> Environment:
    return asyncio.run(unsandboxed.prepare("acme/demo", project, vendored_pytest()))


async def attack(engine: TestEngine, project: Path, environment: Environment, code: str,
                 tests: TestsConfig | None = None, path: str = ATTACK) -> TestReport:
    """Run `code` as a new test file the model wrote (an override: it never touches the disk)."""
    selection = TestSelection(tests=[path]) if path.endswith(".py") and "conftest" not in path else None
    return await engine.run(project, tests or vendored_pytest(), environment, selection, {path: textwrap.dedent(code)})


# --- it works ---------------------------------------------------------------------------------


async def test_pytest_runs_in_bwrap_and_reports_passes_and_failures(engine: TestEngine, project: Path,
                                                                     environment: Environment) -> None:
    green = await engine.run(project, vendored_pytest(), environment, TestSelection(tests=["tests/test_demo.py"]))
    assert green.ok, green.output_tail
    assert (green.passed, green.failed, green.exit_code) == (2, 0, 0)
    assert green.sandbox.startswith("bubblewrap 0.11") and "pids cgroup" in green.sandbox
    assert green.command == "python -m pytest -rA -p no:cacheprovider tests/test_demo.py"

    # A fix that breaks add(): the run sees the override, the disk does not.
    before = snapshot(project)
    red = await engine.run(project, vendored_pytest(), environment, TestSelection(keyword="negative"),
                           {"demo/__init__.py": "def add(a, b):\n    return abs(a) + abs(b)\n"})
    assert not red.ok
    assert (red.passed, red.failed) == (0, 1)
    (failure,) = red.failures
    assert failure.id == "tests/test_demo.py::test_add_negative"
    assert "assert 3 == -3" in failure.message
    assert "return abs(a) + abs(b)" in failure.details or "add(-1, -2)" in failure.details
    assert snapshot(project) == before


async def test_the_environment_is_the_projects_own_not_autofixers(engine: TestEngine, project: Path,
                                                                   environment: Environment) -> None:
    report = await attack(engine, project, environment, """\
        import sys, importlib.util
        def test_isolated_interpreter():
            print("PREFIX", sys.prefix)
            assert sys.prefix == "/sandbox/env/venv"
            assert importlib.util.find_spec("pydantic") is None  # autofixer's venv has it
            assert importlib.util.find_spec("dbos") is None
        """)
    assert report.ok, report.output_tail


# --- what it must not reach -------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 that records what reaches it."""
    with tcp_listener() as found:
        yield found


def network_attack(port: int) -> str:
    return f"""\
        import socket
        def test_exfiltrate():
            with socket.create_connection(("127.0.0.1", {port}), timeout=3) as s:
                s.sendall(b"stolen")
        """


async def test_no_network(engine: TestEngine, project: Path, environment: Environment,
                          listener: tuple[int, list[bytes]]) -> None:
    port, received = listener
    report = await attack(engine, project, environment, network_attack(port))
    await asyncio.sleep(0.3)
    assert received == []
    assert report.failed == 1 and report.failures[0].id.endswith("test_exfiltrate"), report.output_tail
    assert "Network is unreachable" in report.failures[0].message or "refused" in report.failures[0].message


async def test_no_network_is_what_stops_it(unsandboxed: TestEngine, project: Path, unsandboxed_env: Environment,
                                           listener: tuple[int, list[bytes]]) -> None:
    port, received = listener
    report = await attack(unsandboxed, project, unsandboxed_env, network_attack(port))
    await asyncio.sleep(0.3)
    assert report.ok and received == [b"stolen"]  # without the sandbox the same code gets out


async def test_no_autofixer_secrets_in_the_environment(engine: TestEngine, project: Path, environment: Environment,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOFIXER_GITHUB_TOKEN", "ghp_FAKEtoken1234567890")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-FAKE0987654321")
    conftest = """\
        import os
        def pytest_report_header(config):
            return "ENV " + repr(sorted(os.environ.items()))
        def pytest_sessionstart(session):
            leaked = [v for k, v in os.environ.items() if k.startswith(("AUTOFIXER_", "ANTHROPIC_"))]
            assert not leaked, leaked
        """
    report = await engine.run(project, vendored_pytest(), environment, TestSelection(tests=["tests/test_demo.py"]),
                              {"tests/conftest.py": textwrap.dedent(conftest)})
    assert report.ok, report.output_tail
    assert "ENV" in report.output_tail and "FAKE" not in report.output_tail
    assert "'HOME', '/tmp/home'" in report.output_tail


def file_attack(paths: list[Path]) -> str:
    return f"""\
        def test_read_secrets():
            for path in {[str(p) for p in paths]!r}:
                print("READ", open(path).read())
        """


@pytest.fixture
def secret_files(workdir: Path) -> Iterator[list[Path]]:
    """A token in the real ~/.cache and one in the state directory."""
    cache = Path.home() / ".cache" / f"autofixer-sandbox-probe-{uuid.uuid4().hex[:8]}"
    cache.mkdir(parents=True)
    (cache / "token").write_text("CACHE-SECRET-42")
    state = workdir / "state" / "secret.txt"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("STATE-SECRET-42")
    yield [cache / "token", state]
    (cache / "token").unlink()
    cache.rmdir()
    state.unlink()


async def test_no_files_of_the_host(engine: TestEngine, project: Path, environment: Environment,
                                    secret_files: list[Path]) -> None:
    report = await attack(engine, project, environment, file_attack(secret_files))
    assert report.failed == 1 and "FileNotFoundError" in report.failures[0].message
    assert "SECRET-42" not in report.model_dump_json()


async def test_no_files_of_the_host_is_what_stops_it(unsandboxed: TestEngine, project: Path,
                                                     unsandboxed_env: Environment, secret_files: list[Path]) -> None:
    report = await attack(unsandboxed, project, unsandboxed_env, file_attack(secret_files[:1]))
    assert report.ok and "CACHE-SECRET-42" in report.output_tail


async def test_writes_stay_in_the_run(engine: TestEngine, project: Path, environment: Environment) -> None:
    outside = project.parent / "escaped.txt"
    host_tmp = Path("/tmp") / f"autofixer-escape-{uuid.uuid4().hex[:8]}"
    before = snapshot(project)
    report = await attack(engine, project, environment, f"""\
        import os, shutil
        def test_write_everywhere():
            results = {{}}
            for target in ({str(outside)!r}, {str(host_tmp)!r}, "tests/test_demo.py", "new_file.txt",
                           "/sandbox/env/venv/pyvenv.cfg", "/usr/lib/evil"):
                try:
                    with open(target, "w") as f:
                        f.write("pwned")
                    results[target] = "written"
                except OSError as exc:
                    results[target] = type(exc).__name__
            os.remove("demo/__init__.py")
            shutil.rmtree("tests", ignore_errors=True)
            print("RESULTS", results)
        """)
    assert report.ok, report.output_tail
    assert "'/sandbox/env/venv/pyvenv.cfg': 'OSError'" in report.output_tail  # read-only for runs
    assert "'/usr/lib/evil': 'OSError'" in report.output_tail
    assert not outside.exists() and not host_tmp.exists()
    assert snapshot(project) == before
    assert "pwned" not in (environment.path / "venv" / "pyvenv.cfg").read_text()


# --- limits -----------------------------------------------------------------------------------


def leftover_cgroups() -> list[str]:
    return [p.name for p in (CGROUP_ROOT / "pids").glob(f"autofixer-{os.getpid()}-*")]


async def test_a_fork_bomb_is_contained(engine: TestEngine, project: Path, environment: Environment) -> None:
    if _own_group("pids") is None and os.geteuid() == 0:
        # Then only the wall-time limit stops it (RLIMIT_NPROC does not bind root): the sandbox
        # says so in its report, but this machine would fill with processes for that long.
        pytest.skip("no writable pids cgroup and running as root: nothing but the wall time bounds a fork bomb")
    started = time.monotonic()
    report = await attack(engine, project, environment, """\
        import os
        def test_bomb():
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
        """, vendored_pytest(max_processes=32, timeout_seconds=4))
    assert time.monotonic() - started < 30
    assert report.limit == ("processes" if "pids cgroup" in report.sandbox else "time"), report
    assert not report.ok
    assert leftover_cgroups() == []


async def test_100_mb_of_output_is_cut(engine: TestEngine, project: Path, environment: Environment) -> None:
    started = time.monotonic()
    report = await attack(engine, project, environment, """\
        import sys
        def test_flood(capsys):
            with capsys.disabled():
                for _ in range(100):
                    sys.stdout.write("x" * (1024 * 1024))
        """, vendored_pytest(max_output_bytes=1024 * 1024))
    assert report.limit == "output" and report.exit_code is None and not report.ok
    assert time.monotonic() - started < 30
    assert len(report.output_tail) <= 4000


async def test_the_wall_time_limit_kills_the_tree(engine: TestEngine, project: Path, environment: Environment) -> None:
    started = time.monotonic()
    report = await attack(engine, project, environment, """\
        import subprocess, time
        def test_hang():
            subprocess.Popen(["sleep", "300"], start_new_session=True)
            time.sleep(300)
        """, vendored_pytest(timeout_seconds=2))
    assert report.limit == "time" and report.exit_code is None
    assert time.monotonic() - started < 15
    assert leftover_cgroups() == []


async def test_memory_is_limited(engine: TestEngine, project: Path, environment: Environment) -> None:
    report = await attack(engine, project, environment, """\
        def test_hog():
            blocks = []
            for _ in range(64):
                blocks.append(bytearray(16 * 1024 * 1024))
        """, vendored_pytest(memory_mb=128))
    assert not report.ok
    assert report.limit == "memory" or "MemoryError" in report.output_tail


# --- where there is no sandbox ----------------------------------------------------------------


async def test_without_bwrap_runs_are_refused_with_the_reason(tmp_path: Path, project: Path) -> None:
    engine = TestEngine(tmp_path / "state", bwrap=tmp_path / "no" / "bwrap")
    reason = engine.unavailable()
    assert reason is not None and "bubblewrap is not installed" in reason and "sandbox: none" in reason
    with pytest.raises(ExecutionUnavailable, match="bubblewrap is not installed"):
        await engine.prepare("acme/demo", project, vendored_pytest())
    fake = Environment(key="k", path=tmp_path, reused=True)
    report = await engine.run(project, vendored_pytest(), fake)
    assert report.error == reason and not report.ok


async def test_sandbox_none_runs_on_a_copy(unsandboxed: TestEngine, project: Path,
                                           unsandboxed_env: Environment) -> None:
    before = snapshot(project)
    report = await attack(unsandboxed, project, unsandboxed_env, """\
        import os
        def test_vandal():
            os.remove("demo/__init__.py")
            open("tests/test_demo.py", "w").write("")
        """)
    assert report.ok and report.sandbox.startswith("none (unsandboxed)")
    assert snapshot(project) == before


def test_start_up_warns_about_sandbox_none_and_a_sandbox_that_cannot_start(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from server import preflight
    from server.config import parse_settings

    project = {"source-project": "shop", "scm-repo": "acme/shop", "tests": {"runner": "pytest"}}
    none = parse_settings({"sandbox": "none", "state-dir": str(tmp_path), "projects": [project]})
    [warning] = preflight.sandbox_warnings(none)
    assert warning.startswith("sandbox: none: the projects' tests and LLM-written code run WITHOUT isolation")
    bwrap = parse_settings({"state-dir": str(tmp_path), "projects": [project]})
    monkeypatch.setattr("execution.sandbox.bwrap_binary", lambda: tmp_path / "missing-bwrap")
    [warning] = preflight.sandbox_warnings(bwrap)
    assert warning.startswith("projects shop: their tests cannot run: bubblewrap is not installed")
    untested = parse_settings({"state-dir": str(tmp_path), "projects": [{**project, "tests": None}]})
    assert preflight.sandbox_warnings(untested) == []
