"""Deferred imports: a stand-in costs nothing until used and then is the real module; and the
service on its SQLite store runs without ever loading the PostgreSQL driver DBOS imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.service import Service

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_a_stand_in_loads_the_real_module_on_first_use_only() -> None:
    out = _python("""
        import sys
        from common.deferred_import import DeferredModule, defer
        assert defer("email", "email.utils")
        from email import utils                      # a submodule named by the parent: still nothing
        import email
        print(isinstance(sys.modules["email"], DeferredModule), isinstance(utils, DeferredModule))
        print(utils.formataddr(("A", "a@example.com")), email.message_from_string("Subject: hi").get("subject"))
        print(type(sys.modules["email"]).__name__, type(sys.modules["email.utils"]).__name__)
        print(defer("email"))                        # imported now: nothing to defer
    """)
    assert out.splitlines() == ["True True", "A <a@example.com> hi", "module module", "False"]


def test_dbos_on_sqlite_runs_without_psycopg() -> None:
    out = _python("""
        import sys
        from common.deferred_import import DeferredModule, defer
        defer("psycopg", "psycopg.errors")
        from dbos import DBOS
        import tempfile
        state = tempfile.mkdtemp()
        DBOS(config={"name": "deferred-test", "system_database_url": f"sqlite:///{state}/jobs.sqlite",
                     "log_level": "WARNING"})
        DBOS.launch()
        print(DBOS.list_workflows(limit=1) == [], isinstance(sys.modules["psycopg"], DeferredModule))
        DBOS.destroy()
    """)
    assert out.splitlines()[-1] == "True True"


@pytest.mark.slow
def test_the_service_on_sqlite_never_maps_the_postgres_driver(tmp_path: Path) -> None:
    svc = Service(tmp_path, "http://127.0.0.1:9").start()
    try:
        assert httpx.get(f"{svc.url}/health/ready", timeout=10).status_code == 200
        assert svc.proc is not None
        maps = Path(f"/proc/{svc.proc.pid}/maps").read_text()
        assert "sqlite3" in maps  # the check can see a loaded extension module
        assert "psycopg" not in maps
    finally:
        svc.stop()
