"""Running a scenario against a throw-away copy of a project, and taking the last error event
the SDK's file-writing transport captured (shared by the Python and Node.js recorders).

The only edit made to a captured event is the path map: the scenario runs in a throw-away copy
of the project, and that copy's directory (and the scratch SDK install's) are rewritten to where
the app would be deployed (e.g. `/srv/shop`), so frames look like production frames.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ScratchCopy:
    """A temporary directory with the project copy, the transport's output and whatever files
    the child process needs."""

    root: Path
    app: Path  # root/app: the project copy the scenario runs in
    events: Path  # root/events.jsonl: one `{"received": ..., "event": ...}` line per captured event

    def write(self, name: str, text: str) -> Path:
        """Write a file for the child process next to the copy; returns its path."""
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        return path

    def last_error(self, error_types: Iterable[str | None], path_map: Mapping[str, str]) -> dict[str, Any]:
        """`{"event": <ingest event>, "received": <epoch seconds the transport got it>}` for the
        last captured event whose type is one of `error_types`, with `path_map` applied."""
        lines = self.events.read_text(encoding="utf-8").splitlines() if self.events.exists() else []
        captures = [json.loads(line) for line in lines]
        types = tuple(error_types)
        errors = [c for c in captures if c["event"].get("type", "error") in types]
        if not errors:
            raise RuntimeError("the scenario ran but the SDK captured no error event")
        last = errors[-1]
        return {"event": rewrite_paths(last["event"], path_map), "received": last["received"]}


@contextmanager
def scratch_copy(project_dir: Path | str, *, prefix: str, ignore: Iterable[str]) -> Iterator[ScratchCopy]:
    """A copy of `project_dir` (without the `ignore` globs) in a temporary directory, removed on exit.

    The scenario runs in a copy: bytecode and anything the app writes stay out of the source
    tree, and the copy's path is unique, so rewriting it cannot touch anything else.
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        scratch = ScratchCopy(root, app=root / "app", events=root / "events.jsonl")
        shutil.copytree(project_dir, scratch.app, ignore=shutil.ignore_patterns(*ignore))
        yield scratch


def run_scenario_process(command: list[str], *, cwd: Path, env: Mapping[str, str]) -> None:
    """Run the child process that runs a scenario under an SDK; raise with its stderr if it fails."""
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"the scenario failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")


def rewrite_paths(value: Any, path_map: Mapping[str, str]) -> Any:
    """Every string in `value` with the path_map's prefixes replaced (longest first)."""
    pairs = sorted(((k, v) for k, v in path_map.items() if k), key=lambda kv: -len(kv[0]))

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            for old, new in pairs:
                node = node.replace(old, new)
            return node
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(value)
