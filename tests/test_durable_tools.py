"""The call_tool seam: a non-deterministic tool's call is a checkpointed step, so a job
recovered after a crash replays its recorded result instead of running it again."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Real subprocesses (the service, the CLI): run in CI; `pytest -m "not slow"` skips them locally.
pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent('''
    import asyncio, os, sys
    from pathlib import Path
    from pydantic import BaseModel
    from dbos import DBOS, SetWorkflowID
    from server.pipeline.fixing import durable_tools
    from tools.base import ToolContext, reads, tool
    from tools.registry import Registry

    state = Path(sys.argv[1])
    crash = sys.argv[2] == "crash"

    class NoArgs(BaseModel):
        pass

    @tool(title="Count runs", description="Appends a line per run.", annotations=reads())
    async def count_runs(ctx: ToolContext, args: NoArgs) -> str:
        with (state / "runs").open("a") as f:
            f.write("run\\n")
        return f"run number {len((state / 'runs').read_text().splitlines())}"

    nondeterministic = Registry([count_runs.__class__(**{**count_runs.__dict__, "name": "count_runs_nd",
                                                          "deterministic": False})])
    deterministic = Registry([count_runs])
    call = durable_tools()

    @DBOS.workflow(name="seam")
    async def seam() -> str:
        ctx = ToolContext(worktree=state)
        first = await call(nondeterministic, ctx, "count_runs_nd", {})
        second = await call(deterministic, ctx, "count_runs", {})
        if crash:
            os._exit(9)  # a crash after both calls: only the checkpointed one is remembered
        return first.text + " / " + second.text

    async def main() -> None:
        DBOS(config={"name": "seam-test", "system_database_url": f"sqlite:///{state / 'db.sqlite'}",
                     "log_level": "WARNING", "application_version": "v"})
        DBOS.launch()
        if crash:
            with SetWorkflowID("job-1"):
                await seam()
        else:  # the restarted process: DBOS recovers job-1 at launch
            handle = await DBOS.retrieve_workflow_async("job-1")
            print(await handle.get_result())
        DBOS.destroy()

    asyncio.run(main())
''')


def test_a_nondeterministic_tool_call_is_replayed_on_recovery(tmp_path: Path) -> None:
    script = tmp_path / "seam.py"
    script.write_text(SCRIPT)
    root = Path(__file__).resolve().parents[1]
    crashed = subprocess.run([sys.executable, str(script), str(tmp_path), "crash"], cwd=root,
                             capture_output=True, text=True, timeout=60)
    assert crashed.returncode == 9, crashed.stderr
    assert (tmp_path / "runs").read_text().splitlines() == ["run", "run"]
    recovered = subprocess.run([sys.executable, str(script), str(tmp_path), "recover"], cwd=root,
                               capture_output=True, text=True, timeout=60)
    assert recovered.returncode == 0, recovered.stderr
    # The checkpointed call was not run again (its recorded "run number 1" came back); the
    # deterministic one re-ran against the (here: same) state, as recovery is designed to.
    assert recovered.stdout.strip() == "run number 1 / run number 3"
    assert len((tmp_path / "runs").read_text().splitlines()) == 3
