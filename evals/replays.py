"""Replay recordings for offline evals: finding the right one, and making them from a live run.

A recording is the model's side of one case's conversation, in `agent.replay_provider.Recording`
format, stored as `evals/recordings/<case-id>/<prompt_version>.json`. It is only meaningful
for the prompts it was recorded against: with other prompts the model might have chosen other
tool calls, so a recording for another prompt version is reported as stale and the case is not
scored, rather than scoring a conversation the current prompts never produced.

Recordings come from live runs: every transcript keeps each assistant turn (text, tool calls,
stop reason) and its usage, which is exactly what a Recording holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from agent.provider import ModelTurn, ToolCall
from agent.replay_provider import Recording
from agent.transcript import read_transcript
from domain import Usage
from evals.case import EVALS_DIR
from evals.llms import OFFLINE_LLMS
from evals.runfile import RunError, load_run

DEFAULT_RECORDINGS_DIR = EVALS_DIR / "recordings"


@dataclass
class Lookup:
    status: Literal["found", "stale", "missing", "invalid"]
    path: Path | None = None
    recording: Recording | None = None
    other_versions: list[str] = field(default_factory=list)
    detail: str = ""


def recording_path(recordings_dir: Path, case_id: str, prompt_version: str) -> Path:
    return recordings_dir / case_id / f"{prompt_version}.json"


def versions(recordings_dir: Path, case_id: str) -> list[str]:
    folder = recordings_dir / case_id
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def has_recordings(recordings_dir: Path, case_ids: Iterable[str]) -> bool:
    """Any recording, for any prompt version, of any of the cases (what picks replay as the
    default mode; stale ones are then reported, not silently replaced by the oracle)."""
    return any(versions(recordings_dir, c) for c in case_ids)


def find_recording(recordings_dir: Path, case_id: str, prompt_version: str) -> Lookup:
    path = recording_path(recordings_dir, case_id, prompt_version)
    others = [v for v in versions(recordings_dir, case_id) if v != prompt_version]
    if not path.is_file():
        if others:
            return Lookup("stale", other_versions=others, detail=(
                f"stale recording: {case_id} was recorded for prompt version(s) {', '.join(others)}, "
                f"not the current {prompt_version}; re-record it from a live run (autofixer eval record-replay)"))
        return Lookup("missing", detail=f"no recording of {case_id} in {recordings_dir}")
    try:
        recording = Recording.load(path)
    except (OSError, ValueError, ValidationError) as exc:
        return Lookup("invalid", path=path, detail=f"{path}: not a valid recording ({exc})")
    if recording.prompt_version not in (None, prompt_version):
        # A file renamed by hand: its content says which prompts it belongs to.
        return Lookup("stale", path=path, other_versions=[str(recording.prompt_version)], detail=(
            f"stale recording: {path.name} holds turns recorded for prompt version {recording.prompt_version}"))
    return Lookup("found", path=path, recording=recording)


# --- recordings from transcripts ---------------------------------------------------------------


def recording_from_transcript(records: list[dict[str, Any]], label: str) -> Recording:
    """The assistant turns of a transcript, with each turn's usage, as a Recording."""
    header = next((r for r in records if r.get("kind") == "header"), {})
    usage_by_step = {r.get("step"): r for r in records if r.get("kind") == "usage"}
    turns: list[ModelTurn] = []
    model = str(header.get("model") or "unknown")
    for record in records:
        if record.get("kind") != "message" or record.get("role") != "assistant":
            continue
        usage = usage_by_step.get(record.get("step"), {})
        turn_usage = {k: v for k, v in (usage.get("turn") or {}).items() if k in Usage.model_fields}
        turns.append(ModelTurn(
            text=record.get("content") or "",
            tool_calls=[ToolCall.model_validate(c) for c in record.get("tool_calls") or []],
            stop_reason=record.get("stop_reason"),
            usage=Usage.model_validate(turn_usage),
            cost_estimated=bool(usage.get("cost_estimated", False)),
            model=str(usage.get("model") or model),
        ))
        model = str(usage.get("model") or model)
    return Recording(label=label, model=model, prompt_version=header.get("prompt_version"), turns=turns)


@dataclass
class Recorded:
    case_id: str
    repeat: int | None
    path: Path | None
    note: str


def record_replay(
    run_ref: str | Path,
    dest: Path = DEFAULT_RECORDINGS_DIR,
    *,
    force: bool = False,
    allow_offline: bool = False,
    include_unresolved: bool = False,
    repeat: int | None = None,
) -> list[Recorded]:
    """Write a recording per case of a run: the chosen repeat's transcript (the first resolved
    repeat, unless `repeat` names one), filed under the prompt version it ran with."""
    run_dir, run = load_run(run_ref)
    if run.run.llm in OFFLINE_LLMS and not allow_offline:
        raise RunError(
            f"{run_dir.name} is an offline run (--llm {run.run.llm}), not a live model's; its recordings would "
            "replay no model's judgement (pass --allow-offline to record it anyway, e.g. for tests)"
        )
    out: list[Recorded] = []
    by_case: dict[str, list[Any]] = {}
    for result in run.results:
        by_case.setdefault(result.case_id, []).append(result)
    for case_id, results in sorted(by_case.items()):
        candidates = [r for r in sorted(results, key=lambda r: r.repeat) if r.scored and r.transcript]
        if repeat is not None:
            candidates = [r for r in candidates if r.repeat == repeat]
        chosen = next((r for r in candidates if r.resolved), None)
        if chosen is None and include_unresolved and candidates:
            chosen = candidates[0]
        if chosen is None:
            out.append(Recorded(case_id, None, None, "skipped: no resolved repeat (--include-unresolved to keep one)"))
            continue
        records = read_transcript(run_dir / str(chosen.transcript))
        label = f"{run.run.llm} {run.run.model}, run {run.run.run_id}, repeat {chosen.repeat}"
        recording = recording_from_transcript(records, label)
        if not recording.prompt_version:
            out.append(Recorded(case_id, chosen.repeat, None, "skipped: the transcript has no prompt version"))
            continue
        path = dest / case_id / f"{recording.prompt_version}.json"
        if path.exists() and not force:
            out.append(Recorded(case_id, chosen.repeat, path, "kept the existing recording (--force to replace it)"))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(recording.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        out.append(Recorded(case_id, chosen.repeat, path, f"recorded {len(recording.turns)} turn(s)"))
    return out
