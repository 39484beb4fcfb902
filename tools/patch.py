"""Editing tools: propose_patch (search/replace edits) and submit_fix (ends the run).

An edit names a file, the exact text to replace (`original`) and its replacement
(`modified`). `original` must match exactly once; when it doesn't match verbatim, a
whitespace-tolerant line match is tried (models often get indentation or trailing spaces
wrong), and `modified` is re-indented to the file's indentation. Every failure explains itself
with the file's own lines, so the model can correct the edit instead of guessing.

A call is atomic: all of its edits are checked in memory first (path confinement, patch
policy, matching, syntax) and only then written, so a rejected call leaves the worktree as it
was. `apply_changes` is the same machinery without a ToolContext, for rebuilding a worktree
from (base sha + accepted edits) on recovery and for the eval oracle.
"""

from __future__ import annotations

import ast
import asyncio
import difflib
import heapq
import json
import re
import tomllib
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.git import Git, GitError, literal
from domain import Confidence, FileChange
from tools.base import Annotations, ToolContext, ToolError, tool
from tools.files import format_numbered
from tools.paths import ensure_readable_file, normalize_rel_path, rel_to_worktree, resolve_in_worktree, split_lines
from tools.policy import DEFAULT_POLICY, PatchPolicy, TestFilePolicy

GIT_TIMEOUT_S = 120.0
DIFF_MAX_CHARS = 20_000  # what propose_patch shows back; the stored diff is never cut
AMBIGUOUS_MAX_LISTED = 20
CLOSEST_PROBE_LINES = 8  # lines of `original` used to locate the nearest text when it doesn't match
CLOSEST_MIN_RATIO = 0.5
CLOSEST_CANDIDATES = 20  # file lines per probe line that get an exact similarity score
CLOSEST_MIN_OVERLAP = 0.2  # token overlap (Jaccard) below which a line is not a candidate
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


# --------------------------------------------------------------------------------------------
# Matching one edit against a file's text (LF line endings; CRLF is restored on write)


@dataclass
class Replacement:
    text: str  # the whole file after the edit
    how: str  # shown to the model: how `original` was found


def _exact_offsets(content: str, original: str) -> list[int]:
    offsets: list[int] = []
    at = content.find(original)
    while at != -1:
        offsets.append(at)
        at = content.find(original, at + 1)
    return offsets


def _line_at(content: str, offset: int) -> int:
    return content.count("\n", 0, offset) + 1


def _trim_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _tolerant_starts(file_lines: list[str], orig_lines: list[str]) -> list[int]:
    """0-based starts of windows equal to orig_lines once each line's leading and trailing
    whitespace is ignored."""
    keys = [ln.strip() for ln in file_lines]
    want = [ln.strip() for ln in orig_lines]
    m = len(want)
    first = want[0]
    return [i for i in range(len(keys) - m + 1) if keys[i] == first and keys[i : i + m] == want]


def _reindent(lines: list[str], model_indent: str, file_indent: str) -> list[str]:
    """Shift `modified` from the indentation the model used to the file's, keeping the
    model's relative indentation."""
    if model_indent == file_indent:
        return lines
    out: list[str] = []
    for ln in lines:
        if not ln.strip():
            out.append("")
        elif ln.startswith(model_indent):
            out.append(file_indent + ln[len(model_indent) :])
        else:  # less indented than the model's base line: leave it as written
            out.append(ln)
    return out


def _tokens(line: str) -> frozenset[str]:
    return frozenset(_TOKEN_RE.findall(line))


def _closest_windows(file_lines: list[str], orig_lines: list[str]) -> list[tuple[int, float]]:
    """Where `original` most nearly occurs: up to two (0-based start, similarity) pairs.

    Each of a few probe lines of `original` votes for the window start implied by its most
    similar file lines. Candidates are ranked by token overlap first (cheap set operations)
    and only the best few get difflib's ratio, so a 1 MB file costs well under a second
    rather than a fuzzy match of every window.
    """
    keys = [ln.strip() for ln in file_lines]
    want = [ln.strip() for ln in orig_lines]
    file_tokens = [_tokens(k) for k in keys]
    probes = [j for j, k in enumerate(want) if k][:CLOSEST_PROBE_LINES]
    votes: dict[int, float] = defaultdict(float)
    sm = difflib.SequenceMatcher(autojunk=False)
    for j in probes:
        probe = _tokens(want[j])
        if not probe:
            continue
        ranked = heapq.nlargest(
            CLOSEST_CANDIDATES,
            ((len(probe & ft) / len(probe | ft), i) for i, ft in enumerate(file_tokens) if ft),
        )
        sm.set_seq2(want[j])
        for overlap, i in ranked:
            if overlap < CLOSEST_MIN_OVERLAP:
                break
            sm.set_seq1(keys[i])
            ratio = sm.ratio()
            if ratio >= CLOSEST_MIN_RATIO:
                votes[max(0, i - j)] += ratio
    scored: list[tuple[int, float]] = []
    joined_want = "\n".join(want)
    for start, _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
        window = "\n".join(keys[start : start + len(want)])
        scored.append((start, difflib.SequenceMatcher(None, joined_want, window, autojunk=False).ratio()))
    picked: list[tuple[int, float]] = []
    for start, sim in sorted(scored, key=lambda p: (-p[1], p[0])):
        overlaps = any(abs(start - s) < len(want) for s, _ in picked)
        # A second place is only worth showing if it is a real contender, not noise.
        if not overlaps and (not picked or sim >= max(CLOSEST_MIN_RATIO, picked[0][1] * 0.8)):
            picked.append((start, sim))
        if len(picked) == 2:
            break
    return picked


def _not_found_message(shown: str, file_lines: list[str], orig_lines: list[str]) -> str:
    msg = [f"original text not found in {shown} (neither exactly nor ignoring indentation/trailing spaces)."]
    windows = _closest_windows(file_lines, orig_lines)
    if not windows:
        msg.append("No similar lines found; check the file path, or read the file again with read_file.")
    for start, sim in windows:
        lo, hi = max(0, start - 1), min(len(file_lines), start + len(orig_lines) + 1)
        msg.append(f"Closest lines {lo + 1}-{hi} ({sim:.0%} similar):")
        msg.append(format_numbered(file_lines[lo:hi], lo + 1))
    msg.append("Copy 'original' verbatim from the file (without line numbers), then call propose_patch again.")
    return "\n".join(msg)


def _ambiguous_message(shown: str, line_numbers: Sequence[int], how: str) -> str:
    where = ", ".join(str(n) for n in line_numbers[:AMBIGUOUS_MAX_LISTED])
    if len(line_numbers) > AMBIGUOUS_MAX_LISTED:
        where += f" and {len(line_numbers) - AMBIGUOUS_MAX_LISTED:,} more"
    return (
        f"original text appears {len(line_numbers):,} times in {shown}{how} (starting at lines {where}); "
        "it must match exactly once. Include more surrounding lines in 'original' (and 'modified') "
        "so it identifies one place."
    )


def replace_once(content: str, original: str, modified: str, shown: str) -> Replacement:
    """Apply one search/replace edit to `content`, or raise ToolError explaining why not."""
    offsets = _exact_offsets(content, original)
    if len(offsets) == 1:
        at = offsets[0]
        new_text = content[:at] + modified + content[at + len(original) :]
        return Replacement(new_text, f"exact match at line {_line_at(content, at)}")
    if len(offsets) > 1:
        raise ToolError(_ambiguous_message(shown, [_line_at(content, o) for o in offsets], ""))

    orig_lines = _trim_blank_edges(original.split("\n"))
    if not orig_lines:
        raise ToolError("original contains only whitespace; give the exact lines to replace")
    file_lines = content.split("\n")
    starts = _tolerant_starts(file_lines, orig_lines)
    if len(starts) > 1:
        raise ToolError(_ambiguous_message(shown, [s + 1 for s in starts], " when ignoring whitespace"))
    if not starts:
        raise ToolError(_not_found_message(shown, split_lines(content), orig_lines))

    start, end = starts[0], starts[0] + len(orig_lines)
    new_lines = modified.split("\n")
    if modified.endswith("\n"):
        new_lines.pop()  # the window is whole lines; its own line breaks stay
    if not modified:
        new_lines = []
    model_indent = _indent_of(orig_lines[0])
    file_indent = _indent_of(file_lines[start])
    new_lines = _reindent(new_lines, model_indent, file_indent)
    how = f"whitespace-tolerant match at lines {start + 1}-{end}"
    if model_indent != file_indent:
        how += " (modified re-indented to the file's indentation)"
    return Replacement("\n".join(file_lines[:start] + new_lines + file_lines[end:]), how)


# --------------------------------------------------------------------------------------------
# Syntax checks: an edit may not break a file that parsed before it


def _parse_python(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences etc. are not our concern here
        ast.parse(text)


def _parse_yaml(text: str) -> None:
    for _ in yaml.safe_load_all(text):
        pass


_CHECKERS: dict[str, Callable[[str], Any]] = {
    ".py": _parse_python,
    ".pyi": _parse_python,
    ".json": json.loads,
    ".toml": tomllib.loads,
    ".yaml": _parse_yaml,
    ".yml": _parse_yaml,
}


def _describe_syntax_error(exc: Exception, text: str) -> str:
    if isinstance(exc, SyntaxError) and exc.lineno:
        lines = split_lines(text)
        lo, hi = max(0, exc.lineno - 3), min(len(lines), exc.lineno + 2)
        return f"{exc.msg} at line {exc.lineno}:\n{format_numbered(lines[lo:hi], lo + 1)}"
    return f"{type(exc).__name__}: {exc}"


def syntax_problem(path: str, before: str | None, after: str) -> str | None:
    """Why `after` is refused for `path`, or None. Files that already failed to parse (other
    dialects, newer syntax than ours, templated YAML) are not checked, so they stay editable."""
    checker = _CHECKERS.get(Path(path).suffix.lower())
    if checker is None:
        return None
    if before is not None:
        try:
            checker(before)
        except Exception:
            return None
    try:
        checker(after)
    except (RecursionError, MemoryError):
        return None
    except Exception as exc:
        return f"{path} would no longer parse after this edit: {_describe_syntax_error(exc, after)}"
    return None


# --------------------------------------------------------------------------------------------
# Staging a batch in memory, then writing it


@dataclass
class _Staged:
    rel: str  # the real (symlink-resolved) worktree-relative path
    before: bytes | None  # None: the file is new
    text: str  # current LF-normalised content
    crlf: bool


@dataclass
class AppliedEdit:
    file: str
    how: str


def _ensure_creatable(root: Path, resolved: Path, shown: str) -> None:
    if resolved.exists() or resolved.is_symlink():
        raise ToolError(
            f"{shown} already exists; 'original' is empty only when creating a new file. "
            "To change it, put the exact text to replace in 'original'."
        )
    parent = resolved.parent
    while not parent.exists() and parent != root:
        parent = parent.parent
    if not parent.is_dir():
        raise ToolError(f"cannot create {shown}: {rel_to_worktree(root, parent)} is a file, not a directory")


def _load(root: Path, resolved: Path, shown: str, policy: PatchPolicy) -> _Staged:
    ensure_readable_file(resolved, shown, max_bytes=policy.max_file_bytes)
    raw = resolved.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(f"{shown} is not UTF-8 text ({exc.reason} at byte {exc.start}); it cannot be edited") from None
    crlf = "\r\n" in text
    return _Staged(rel_to_worktree(root, resolved), raw, text.replace("\r\n", "\n") if crlf else text, crlf)


def _check_policy(policy: PatchPolicy, *paths: str) -> None:
    for p in dict.fromkeys(paths):
        reason = policy.check(p)
        if reason:
            raise ToolError(f"refused by the patch policy: {reason}. Fix the problem in application code instead.")


def _check_tests(policy: PatchPolicy, tests: TestFilePolicy, rel: str, real_rel: str, *, new: bool,
                 own: bool) -> None:
    for p in dict.fromkeys((rel, real_rel)):
        if policy.allows(p):  # the project allowed automatic fixes of this file explicitly
            continue
        reason = tests.check(p, new=new, own=own)
        if reason:
            raise ToolError(f"refused by the patch policy: {reason}")


def _stage_one(root: Path, change: FileChange, policy: PatchPolicy, staged: dict[Path, _Staged],
               tests: TestFilePolicy | None = None, own: frozenset[str] = frozenset()) -> AppliedEdit:
    rel = normalize_rel_path(change.file)
    if not rel:
        raise ToolError("file is empty; give the path of the file to change")
    resolved = resolve_in_worktree(root, rel, must_exist=False)
    real_rel = rel_to_worktree(root, resolved)
    _check_policy(policy, rel, real_rel)  # both: a harmless-looking symlink may point at a denied file
    if tests is not None:
        new = not (resolved.exists() or resolved.is_symlink())
        _check_tests(policy, tests, rel, real_rel, new=new, own=real_rel in own)
    original = change.original.replace("\r\n", "\n")
    modified = change.modified.replace("\r\n", "\n")
    if original and original == modified:
        raise ToolError(f"{rel}: 'modified' is identical to 'original'; nothing would change")

    entry = staged.get(resolved)
    if not original:
        if entry is not None:
            raise ToolError(
                f"{rel} was already created or changed earlier in this call; edit it with a non-empty 'original'"
            )
        _ensure_creatable(root, resolved, rel)
        staged[resolved] = _Staged(real_rel, None, modified, False)
        how = "new file"
    else:
        if entry is None:
            if not resolved.exists():
                raise ToolError(
                    f"no such file: {rel!r}. To create a new file, leave 'original' empty; "
                    "otherwise use list_files or search_repo to find the right path"
                )
            entry = staged[resolved] = _load(root, resolved, rel, policy)
        result = replace_once(entry.text, original, modified, rel)
        entry.text, how = result.text, result.how

    content_problem = policy.check_content(rel, staged[resolved].text)
    if content_problem:
        raise ToolError(f"refused by the patch policy: {content_problem}")
    # The real path, not the link's: git commits the file, and a link (or a linked directory on
    # the way) would stage nothing or be refused as "beyond a symbolic link".
    return AppliedEdit(real_rel, how)


def _stage_batch(
    root: Path, changes: Sequence[FileChange], policy: PatchPolicy, tests: TestFilePolicy | None = None,
    own: frozenset[str] = frozenset(),
) -> tuple[dict[Path, _Staged], list[AppliedEdit]]:
    staged: dict[Path, _Staged] = {}
    applied: list[AppliedEdit] = []
    for n, change in enumerate(changes, 1):
        try:
            applied.append(_stage_one(root, change, policy, staged, tests, own))
        except ToolError as exc:
            # Every message names the file; with several changes, also say which one failed.
            prefix = f"change {n} of {len(changes)} ({change.file}): " if len(changes) > 1 else ""
            raise ToolError(f"{prefix}{exc}\nNo changes from this call were applied.") from None
    for entry in staged.values():
        before = None if entry.before is None else entry.before.decode("utf-8").replace("\r\n", "\n")
        problem = syntax_problem(entry.rel, before, entry.text)
        if problem:
            raise ToolError(f"edit refused: {problem}\nNo changes from this call were applied.")
    return staged, applied


def _write_all(staged: dict[Path, _Staged]) -> None:
    """Write every staged file; on any failure put back what was already written."""
    written: list[tuple[Path, _Staged]] = []
    try:
        for resolved, entry in staged.items():
            data = (entry.text.replace("\n", "\r\n") if entry.crlf else entry.text).encode("utf-8")
            resolved.parent.mkdir(parents=True, exist_ok=True)
            written.append((resolved, entry))
            resolved.write_bytes(data)  # in place, so the file keeps its mode bits
    except OSError as exc:
        for resolved, entry in written:
            if entry.before is None:
                resolved.unlink(missing_ok=True)
            else:
                resolved.write_bytes(entry.before)
        raise ToolError(f"could not write the changes ({exc}); nothing was applied") from None


def apply_edits(worktree: Path, changes: Sequence[FileChange], policy: PatchPolicy | None = None, *,
                tests: TestFilePolicy | None = None, own: Iterable[str] = ()) -> list[AppliedEdit]:
    """Check and apply a batch of edits atomically; raises ToolError (nothing written) on any failure.
    `tests`: the project's test-file rules, with `own` the files this run created itself."""
    if not changes:
        raise ToolError("changes is empty; give at least one edit")
    root = worktree.resolve()
    staged, applied = _stage_batch(root, changes, policy or DEFAULT_POLICY, tests, frozenset(own))
    _write_all(staged)
    return applied


# --------------------------------------------------------------------------------------------
# Diffs versus the base commit


def _git(worktree: Path, *args: str, ok: Iterable[int] = (0,)) -> str:
    try:
        return Git(cwd=worktree, timeout=GIT_TIMEOUT_S).run(*args, ok=tuple(ok)).text
    except GitError as exc:
        raise ToolError(str(exc)) from None


def worktree_diff(worktree: Path, paths: Iterable[str], base: str = "HEAD") -> str:
    """Unified diff of `paths` (worktree-relative) between `base` and the worktree; new files
    appear as additions, as they will in the pull request."""
    root = worktree.resolve()
    rels = sorted({rel_to_worktree(root, resolve_in_worktree(root, p, must_exist=False)) for p in paths})
    if not rels:
        return ""
    specs = [literal(p) for p in rels]
    in_base = set(_git(root, "ls-tree", "-r", "--name-only", "-z", base, "--", *specs).split("\x00"))
    common = ("--no-color", "--no-ext-diff", "--no-textconv")
    tracked = [literal(p) for p in rels if p in in_base]
    parts = [_git(root, "diff", *common, base, "--", *tracked)] if tracked else []
    for p in rels:
        if p not in in_base and (root / p).exists():
            parts.append(_git(root, "diff", *common, "--no-index", "--", "/dev/null", p, ok=(0, 1)))
    return "".join(parts)


def apply_changes(
    worktree: Path,
    changes: Sequence[FileChange],
    policy: PatchPolicy | None = None,
    *,
    base: str = "HEAD",
    also_diff: Iterable[str] = (),
) -> str:
    """Apply `changes` (atomically) and return the diff versus `base` of every file they touch,
    plus `also_diff` (files changed earlier). Replaying all accepted edits on a fresh worktree
    at the base commit reproduces the agent's final diff."""
    apply_edits(worktree, changes, policy)
    return worktree_diff(worktree, [*also_diff, *(c.file for c in changes)], base)


# --------------------------------------------------------------------------------------------
# The tools


class PatchChange(BaseModel):
    """One search/replace edit."""

    # Same fields as domain.FileChange, with descriptions the model sees in the schema.

    model_config = ConfigDict(extra="forbid")

    file: str = Field(description="Path of the file to change, relative to the repository root.")
    description: str = Field(default="", description="One sentence: what this edit changes and why.")
    original: str = Field(
        description="The exact current text to replace, copied from read_file output without the "
        "line-number prefixes, including enough surrounding lines to occur exactly once in the file. "
        "Empty string to create a new file at `file`."
    )
    modified: str = Field(
        description="The text that replaces `original` (the complete new content when creating a "
        "file). Keep the file's indentation; an empty string deletes `original`."
    )

    def to_domain(self) -> FileChange:
        return FileChange(file=self.file, description=self.description, original=self.original, modified=self.modified)


class ProposePatchArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: list[PatchChange] = Field(
        min_length=1, description="Edits to apply together: either all are applied or none."
    )


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[diff cut at {limit:,} of {len(text):,} characters]"


@tool(
    title="Stage a change in the repository",
    description=(
        "Change files in the repository with search/replace edits. Each change gives 'file', the exact "
        "current text 'original' (copied from read_file, without line numbers, long enough to occur "
        "exactly once) and its replacement 'modified'; an empty 'original' creates a new file. If "
        "'original' doesn't match verbatim, a match ignoring indentation and trailing spaces is tried. "
        "All changes in one call are applied together or not at all; edits accumulate across calls "
        "(a later call sees earlier edits). Python, JSON, TOML and YAML files must still parse. CI "
        "workflows, lock files, secrets/credential files, git metadata and binaries cannot be changed. "
        "Returns the unified diff of everything changed so far. Make the smallest change that fixes "
        "the root cause, then call submit_fix."
    ),
    # It edits a throw-away checkout of one job or triage session, which nothing else sees
    # until a pull request is opened: not destructive, but applying the same edit twice fails.
    annotations=Annotations(read_only=False, destructive=False, idempotent=False, open_world=False),
)
async def propose_patch(ctx: ToolContext, args: ProposePatchArgs) -> str:
    changes = [c.to_domain() for c in args.changes]
    edits = await asyncio.to_thread(apply_edits, ctx.worktree, changes, ctx.policy, tests=ctx.test_files,
                                    own=ctx.created)
    for change, edit in zip(changes, edits, strict=True):
        ctx.applied.append(change.model_copy(update={"file": edit.file}))
    diff = await asyncio.to_thread(worktree_diff, ctx.worktree, [c.file for c in ctx.applied], ctx.diff_base)
    files = len({c.file for c in ctx.applied})
    report = [f"Applied {len(edits)} change(s):", *(f"- {e.file}: {e.how}" for e in edits)]
    report.append(f"\nDiff of everything changed so far ({files} file(s)) versus the base commit:")
    report.append(_clip(diff, DIFF_MAX_CHARS) or "(no difference from the base commit)")
    return "\n".join(report)


class SubmitFixArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    analysis: str = Field(min_length=1, description="What happened: how the error arises, traced through the code.")
    root_cause: str = Field(min_length=1, description="The underlying cause, in one or two sentences.")
    confidence: Confidence = Field(
        description="HIGH: the cause is certain and the change fixes it; MEDIUM: likely; LOW: a guess "
        "or no code change was possible."
    )
    pr_title: str = Field(min_length=1, max_length=200, description="Pull request title, imperative mood.")
    pr_body: str = Field(
        min_length=1, description="Pull request description (Markdown): the error, the root cause, the fix."
    )
    reproduction_test: str | None = Field(
        default=None, description="Only when the project has tests (run_tests is available): the path of the new "
        "test file you wrote that reproduces the error (it failed before your fix and passes after it).",
    )

    @field_validator("confidence", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v


@tool(
    title="Submit the fix",
    description=(
        "Finish the investigation and submit the fix made with propose_patch, with your analysis, the "
        "root cause, a confidence level and the pull request's title and body. Call it exactly once, "
        "last; nothing can be changed afterwards. If no safe code change is possible, submit with "
        "confidence LOW and explain why in the analysis."
    ),
    annotations=Annotations(read_only=False, destructive=False, idempotent=False, open_world=False),
    # It ends the agent's unattended run; over MCP the person decides, with open_pull_request.
    audience="agent",
)
async def submit_fix(ctx: ToolContext, args: SubmitFixArgs) -> str:
    if ctx.submission is not None:
        raise ToolError("a fix was already submitted; the run is over")
    ctx.submission = args.model_dump(mode="json", exclude_none=True)
    files = sorted({c.file for c in ctx.applied})
    changed = f"{len(files)} file(s) changed: {', '.join(files)}" if files else "no files changed"
    return f"Fix submitted with {args.confidence.value} confidence; {changed}. The run is complete."
