"""Environments: built once per repository and lock-file hash, reused in well under a second, a
build shared by concurrent jobs, a crashed or failed build never taken for a good one, old ones
pruned; setup runs in the sandbox and leaves the worktree alone."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from execution.config import TestsConfig
from execution.engine import EnvironmentBuildError, TestEngine
from execution.environment import KEEP, READY, SETUP_LOG, safe_name
from tests.execution_fixtures import sandboxed_engine, tcp_listener, write_files

pytestmark = pytest.mark.slow


@pytest.fixture
def engine(tmp_path: Path) -> TestEngine:
    return sandboxed_engine(tmp_path / "state")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_files(root, {"package.json": '{"name": "shop"}\n', "requirements.txt": "requests==2.0\n"})
    return root


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# Node environments: no venv to create, so these builds take milliseconds.
def node_tests(*setup: str) -> TestsConfig:
    return TestsConfig(runner="node", setup=list(setup))


async def test_a_python_environment_is_a_venv_of_the_base_interpreter_reused_in_under_a_second(
        engine: TestEngine, repo: Path) -> None:
    tests = TestsConfig(runner="pytest", setup=["python -c 'import sys; print(sys.prefix)' > /sandbox/env/prefix"])
    messages: list[str] = []
    first = await engine.prepare("acme/shop", repo, tests, messages.append)
    assert not first.reused and first.setup_seconds > 0
    assert any("building environment acme/shop" in m for m in messages)
    assert (first.path / "prefix").read_text().strip() == "/sandbox/env/venv"  # the project's own venv
    assert "include-system-site-packages = false" in (first.path / "venv" / "pyvenv.cfg").read_text()
    assert first.path.parent.name == safe_name("acme/shop")
    started = time.monotonic()
    second = await engine.prepare("acme/shop", repo, tests)
    assert time.monotonic() - started < 1.0
    assert second.reused and second.path == first.path and second.setup_seconds == 0
    assert "reused" in second.description


async def test_a_changed_lock_file_builds_a_new_environment(engine: TestEngine, repo: Path) -> None:
    first = await engine.prepare("acme/shop", repo, node_tests())
    (repo / "package.json").write_text('{"name": "shop", "dependencies": {"left-pad": "1.3.0"}}\n')
    second = await engine.prepare("acme/shop", repo, node_tests())
    assert second.path != first.path and not second.reused
    (repo / "README.md").write_text("not a lock file\n")
    assert (await engine.prepare("acme/shop", repo, node_tests())).path == second.path
    # Another setup command is another environment too.
    assert (await engine.prepare("acme/shop", repo, node_tests("true"))).path != second.path


async def test_old_environments_are_pruned(engine: TestEngine, repo: Path) -> None:
    paths = []
    for n in range(KEEP + 2):
        (repo / "package.json").write_text(json.dumps({"name": "shop", "version": f"1.0.{n}"}))
        paths.append((await engine.prepare("acme/shop", repo, node_tests())).path)
    assert [p.exists() for p in paths] == [False, False, True, True, True]


async def test_concurrent_jobs_share_one_build(engine: TestEngine, repo: Path) -> None:
    tests = node_tests("sleep 1; echo built >> /sandbox/env/builds")
    a, b = await asyncio.gather(engine.prepare("acme/shop", repo, tests), engine.prepare("acme/shop", repo, tests))
    assert a.path == b.path and sorted([a.reused, b.reused]) == [False, True]
    assert (a.path / "builds").read_text() == "built\n"


async def test_a_crashed_build_is_rebuilt(engine: TestEngine, repo: Path) -> None:
    tests = node_tests("echo built >> /sandbox/env/builds")
    first = await engine.prepare("acme/shop", repo, tests)
    (first.path / READY).unlink()  # as if the process died before the marker was written
    second = await engine.prepare("acme/shop", repo, tests)
    assert not second.reused and (second.path / "builds").read_text() == "built\n"


async def test_a_failed_setup_names_its_command_and_is_not_cached(engine: TestEngine, repo: Path) -> None:
    tests = node_tests("echo fine", "echo 'No matching distribution found for left-pad' >&2; exit 3", "echo never")
    with pytest.raises(EnvironmentBuildError) as info:
        await engine.prepare("acme/shop", repo, tests)
    message = str(info.value)
    failing = "echo 'No matching distribution found for left-pad' >&2; exit 3"
    assert message.startswith(f"setup command {failing!r} exited 3")
    assert message.endswith("No matching distribution found for left-pad")
    (env_dir,) = [p for p in (engine.state_dir / "environments" / safe_name("acme/shop")).iterdir() if p.is_dir()]
    assert not (env_dir / READY).exists() and "never" not in (env_dir / SETUP_LOG).read_text()
    with pytest.raises(EnvironmentBuildError):  # tried again, not taken as built
        await engine.prepare("acme/shop", repo, tests)


async def test_setup_leaves_the_worktree_alone_and_sees_no_secrets(engine: TestEngine, repo: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOFIXER_GITHUB_TOKEN", "ghp_FAKEsetup123")
    before = tree(repo)
    tests = node_tests("mkdir shop.egg-info && touch shop.egg-info/PKG-INFO && echo x >> package.json",
                       "test -f shop.egg-info/PKG-INFO",  # later steps see what earlier ones wrote
                       "env > /sandbox/env/setup-env; cat /root/.cache/* > /sandbox/env/cache 2>&1; true",
                       f"echo pwned > {repo.parent}/escaped || true")
    environment = await engine.prepare("acme/shop", repo, tests)
    assert tree(repo) == before and not (repo.parent / "escaped").exists()
    assert "FAKE" not in (environment.path / "setup-env").read_text()
    assert "No such file" in (environment.path / "cache").read_text()


async def test_a_missing_interpreter_is_a_clear_error(engine: TestEngine, repo: Path) -> None:
    with pytest.raises(EnvironmentBuildError, match=r"tests\.python: 'python3\.99' is not on PATH"):
        await engine.prepare("acme/shop", repo, TestsConfig(python="python3.99"))


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
    except OSError:
        return False
    return True


async def test_setup_reaches_the_package_registry(engine: TestEngine, repo: Path) -> None:
    if not pypi_reachable():
        pytest.skip("pypi.org is not reachable from here")
    tests = TestsConfig(runner="pytest", setup=["pip install -q iniconfig==2.0.0"])
    environment = await engine.prepare("acme/shop", repo, tests)
    assert list((environment.path / "venv" / "lib").glob("python3*/site-packages/iniconfig"))


# --- setup's network: the registries, through the proxy, and nothing else ----------------------

NODE_CLIENT = """\
const net = require('net'); const fs = require('fs');
const [how, host, port] = process.argv.slice(2);
const out = (text) => fs.appendFileSync('/sandbox/env/net.log', how + ' ' + text + '\\n');
const s = how === 'direct' ? net.connect(Number(port), host) : net.connect(3128, '127.0.0.1');
s.setTimeout(3000, () => { out('timeout'); s.destroy(); });
s.on('error', (e) => out('error ' + e.code));
s.on('connect', () => {
  if (how === 'direct') { s.write('stolen'); out('connected'); s.end(); return; }
  s.write(`CONNECT ${host}:${port} HTTP/1.1\\r\\nHost: ${host}:${port}\\r\\n\\r\\n`);
});
let seen = '';
s.on('data', (d) => {
  seen += d;
  if (how === 'proxy' && seen.startsWith('HTTP/1.1 200') && !seen.includes('pong')) { s.write('ping'); return; }
  if (seen.includes('pong') || seen.startsWith('HTTP/1.1 403')) {
    out(seen.split('\\r\\n')[0] + (seen.includes('pong') ? ' pong' : '')); s.end();
  }
});
"""


@pytest.fixture
def echo_server() -> Iterator[tuple[int, list[bytes]]]:
    """127.0.0.1 TCP server: answers 'ping' with 'pong', records every connection's first bytes."""
    with tcp_listener() as found:
        yield found


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
async def test_setup_reaches_only_the_registries(engine: TestEngine, repo: Path,
                                                 echo_server: tuple[int, list[bytes]]) -> None:
    port, received = echo_server
    write_files(repo, {"client.js": NODE_CLIENT})
    steps = [f"node client.js direct 127.0.0.1 {port}", f"node client.js proxy 127.0.0.1 {port}",
             "node client.js proxy 169.254.169.254 80"]
    # Not a registry: neither directly (its own network namespace) nor through the proxy.
    closed = await engine.prepare("acme/shop", repo, node_tests(*steps))
    log = (closed.path / "net.log").read_text()
    assert "direct error ECONNREFUSED" in log
    assert log.count("proxy HTTP/1.1 403 Forbidden") == 2
    assert received == []
    # A registry the project names is reached, through the proxy's tunnel.
    opened = await engine.prepare("acme/shop", repo, node_tests(*steps[1:2]).model_copy(
        update={"registries": [f"127.0.0.1:{port}"]}))
    assert "proxy HTTP/1.1 200 Connection established pong" in (opened.path / "net.log").read_text()
    assert received == [b"ping"]
