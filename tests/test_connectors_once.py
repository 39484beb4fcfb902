"""`autofixer serve` builds each configured connector once (issue 16, item 6): the start-up check,
the webhook routes and the jobs share the instances, so a connector's connection pool (and a
forge's write lock) is one per process, and shutdown closes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.fakes.serve import free_port

pytestmark = pytest.mark.slow  # a real `serve`, started and stopped in a subprocess

CHILD = textwrap.dedent("""
    import json, os, signal, sys, threading, time
    from collections import Counter
    import httpx
    from server import cli, connectors

    built, closed = Counter(), Counter()
    original = connectors.connector_class

    def counting(kind, type_name):
        cls = original(kind, type_name)
        if cls is None or kind == "provider":
            return cls

        class Counted(cls):
            def __init__(self, *args, **kwargs):
                built[kind] += 1
                super().__init__(*args, **kwargs)

            async def aclose(self):
                closed[kind] += 1
                close = getattr(super(), "aclose", None)
                if close is not None:
                    await close()

        return Counted

    connectors.connector_class = counting
    port = int(sys.argv[1])

    def stop_when_ready():
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_ready, daemon=True).start()
    code = cli.main(["--config", "autofixer.yml", "serve", "--port", str(port)])
    print(json.dumps({"code": code, "built": built, "closed": closed}))
""")


def test_serve_builds_each_connector_once_and_closes_it(tmp_path: Path) -> None:
    config = {"source": {"type": "sentry", "org": "acme", "base-url": "http://127.0.0.1:9"},
              "scm": {"type": "gitlab"}, "notify": [{"type": "log"}], "state-dir": str(tmp_path / "state"),
              "projects": [{"source-project": "shop", "scm-repo": "acme/shop"}]}
    (tmp_path / "autofixer.yml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOFIXER_")}
    result = subprocess.run([sys.executable, "-c", CHILD, str(free_port())], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["built"] == {"source": 1, "forge": 1, "notifier": 1}
    assert report["closed"]["source"] == 1 and report["closed"]["forge"] == 1
