"""A JSONL record of one agent run: `<state-dir>/transcripts/<job-id>.jsonl`.

Line 1 is a header (prompt version, provider, model, limits, start time); then one line per
event of the run (each message, tool call, tool result, usage, timing); the last line is the
outcome. It is what a person reads to understand why a fix looks the way it does, and what the
eval harness diffs across prompt versions.

Every line goes through redaction (the configured secrets plus secret-looking shapes) before it
is written, and each line is flushed as it is written so a crash leaves a readable prefix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from domain.redact import redact_obj

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def transcript_path(state_dir: Path, job_id: str) -> Path:
    """Job ids look like `sentry:org:123`; the file name keeps them readable but safe."""
    name = _UNSAFE_NAME.sub("_", job_id).strip("._") or "job"
    return state_dir / "transcripts" / f"{name}.jsonl"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Transcript:
    def __init__(self, path: Path, *, secrets: Iterable[str] = ()) -> None:
        self.path = path
        self.secrets = [s for s in secrets if s]
        self._fh: TextIO | None = None

    @classmethod
    def for_job(cls, state_dir: Path, job_id: str, *, secrets: Iterable[str] = ()) -> Transcript:
        return cls(transcript_path(state_dir, job_id), secrets=secrets)

    def header(self, *, prompt_version: str, provider: str, model: str, limits: dict[str, Any], **extra: Any) -> None:
        self.write(
            "header", prompt_version=prompt_version, provider=provider, model=model, limits=limits,
            started_at=_now(), **extra,
        )

    def write(self, kind: str, **data: Any) -> None:
        record = redact_obj({"kind": kind, "ts": _now(), **data}, self.secrets)
        fh = self._open()
        fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def _open(self) -> TextIO:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Append: a run resumed after a crash continues the same file.
            self._fh = self.path.open("a", encoding="utf-8")
        return self._fh

    def __enter__(self) -> Transcript:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_transcript(path: Path) -> list[dict[str, Any]]:
    """Every record of a transcript, in order (a torn last line after a crash is skipped)."""
    records: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
