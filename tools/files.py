"""Read-only tools over the worktree: read_file, search_repo, list_files.

Every output is bounded (lines, matches, entries, characters) and says what was cut and how
to get the rest, because an unbounded answer costs tokens and drowns the signal. Searching
and listing go through git, which is fast on large repositories and already knows what is
ignored; git runs through the shared hardened runner (common.git): without a shell, with hooks
and fsmonitor disabled, so neither the untrusted query nor the repository can make it execute
anything.
"""

from __future__ import annotations

import asyncio
import heapq
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from common.git import Git, GitError, GitResult, literal
from domain import FileChange
from tools.base import ToolContext, ToolError, reads, tool
from tools.paths import normalize_rel_path, read_text, rel_to_worktree, resolve_in_worktree, split_lines
from tools.policy import glob_match

READ_MAX_LINES = 400
LINE_MAX_CHARS = 500
SEARCH_DEFAULT_RESULTS = 50
SEARCH_MAX_RESULTS = 200
SEARCH_LINE_MAX_CHARS = 300  # minified files put a whole bundle on one line
SEARCH_TIMEOUT_S = 30.0
LIST_MAX_ENTRIES = 300
GIT_TIMEOUT_S = 60.0  # ls-files and the PCRE probe


async def run_git(worktree: Path, *args: str, timeout: float = GIT_TIMEOUT_S) -> GitResult:
    """git in the worktree, through the shared hardened runner; any exit status is returned."""
    try:
        return await Git(cwd=worktree).arun(*args, ok=None, timeout=timeout)
    except GitError as exc:
        raise ToolError(str(exc)) from None


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … [{len(text) - limit:,} more characters]"


def _git_error(err: str) -> str:
    lines = [ln.removeprefix("fatal: ").removeprefix("error: ") for ln in err.splitlines()]
    return "; ".join(ln for ln in lines if ln.strip()) or "git failed"


# --------------------------------------------------------------------------------------------
# read_file


class ReadFileArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="File path relative to the repository root, e.g. 'src/app/models.py'.")
    start_line: int = Field(default=1, description="First line to show (1-based).")
    end_line: int | None = Field(
        default=None,
        description=f"Last line to show (inclusive). Defaults to start_line + {READ_MAX_LINES - 1}.",
    )


@dataclass
class _Window:
    start: int
    end: int  # inclusive; end < start means nothing to show
    notes: list[str] = field(default_factory=list)


def _clamp_window(total: int, start: int, end: int | None) -> _Window:
    """Fit the requested range to the file, explaining every adjustment to the model."""
    notes: list[str] = []
    if start < 1:
        notes.append(f"start_line {start} is before the first line; starting at line 1.")
        start = 1
    if start > total:
        new_start = max(1, total - READ_MAX_LINES + 1)
        notes.append(f"start_line {start} is past the end of the file ({total:,} lines); showing its last lines.")
        start, end = new_start, None
    if end is not None and end < start:
        notes.append(f"end_line {end} is before start_line {start}; showing from line {start}.")
        end = None
    if end is not None and end > total:
        end = total  # reading "to the end" is normal, not worth a note
    wanted_end = end if end is not None else start + READ_MAX_LINES - 1
    if wanted_end - start + 1 > READ_MAX_LINES:
        if end is not None:
            notes.append(f"at most {READ_MAX_LINES} lines are shown per call.")
        wanted_end = start + READ_MAX_LINES - 1
    return _Window(start, min(wanted_end, total), notes)


def format_numbered(lines: list[str], start: int) -> str:
    width = max(4, len(str(start + len(lines) - 1)))
    return "\n".join(
        f"{n:>{width}}| {_truncate(text, LINE_MAX_CHARS)}" if text else f"{n:>{width}}|"
        for n, text in enumerate(lines, start)
    )


@tool(
    title="Read a file of the repository",
    description=(
        "Read a text file from the repository, with line numbers ('  12| code'). Shows at most "
        f"{READ_MAX_LINES} lines per call; the output says how many lines the file has and which "
        "start_line to use to continue. Lines longer than "
        f"{LINE_MAX_CHARS} characters are cut. Files over 1 MB and binary files are refused "
        "(use search_repo for those). Paths are relative to the repository root; use list_files or "
        "search_repo to find them. Use this to read the code around a stack frame before proposing "
        "a change, and copy text for propose_patch's 'original' from here (without the line numbers)."
    ),
    annotations=reads(),
)
async def read_file(ctx: ToolContext, args: ReadFileArgs) -> str:
    resolved = resolve_in_worktree(ctx.worktree, args.path)
    shown = rel_to_worktree(ctx.worktree, resolved)
    lines = split_lines(read_text(resolved, shown))
    total = len(lines)
    if total == 0:
        return f"{shown} is empty (0 lines)."
    win = _clamp_window(total, args.start_line, args.end_line)
    body = format_numbered(lines[win.start - 1 : win.end], win.start)
    parts = [*(f"Note: {n}" for n in win.notes), f"{shown} (lines {win.start}-{win.end} of {total:,})", body]
    if win.end < total:
        parts.append(
            f"[lines {win.start}-{win.end} of {total:,}; call read_file with start_line={win.end + 1} to continue]"
        )
    else:
        parts.append(f"[end of file: {total:,} lines]")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# search_repo


class SearchRepoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(description="Text to look for on a single line (case-sensitive).")
    regex: bool = Field(
        default=False,
        description="Treat query as a Perl-compatible regular expression (e.g. 'def \\w+_id\\('); "
        "false means a plain literal string.",
    )
    path_glob: str | None = Field(
        default=None,
        description="Only search matching paths: '*.py' (name at any depth), 'src/**/*.ts', or a "
        "directory such as 'django/db'.",
    )
    max_results: int = Field(
        default=SEARCH_DEFAULT_RESULTS,
        description=f"How many matching lines to show (1-{SEARCH_MAX_RESULTS}).",
    )


@dataclass
class GrepResult:
    matches: list[tuple[str, int, str]]
    total: int  # every matching line, including those not kept
    timed_out: bool = False


_pcre_supported: bool | None = None


async def _regex_flag(worktree: Path) -> str:
    """-P (Perl syntax: \\d, \\w, lookarounds — what models write) when this git has PCRE, else -E."""
    global _pcre_supported
    if _pcre_supported is None:
        probe = await run_git(worktree, "grep", "-q", "-P", "-e", "x", "--", literal("__autofixer_probe__"))
        low = probe.stderr.lower()
        _pcre_supported = not (probe.returncode == 128 and ("perl" in low or "pcre" in low))
    return "-P" if _pcre_supported else "-E"


def glob_pathspecs(glob: str) -> list[str]:
    """Git pathspecs with the same meaning as our globs (see tools.policy)."""
    if "\x00" in glob:
        raise ToolError("path_glob contains a NUL byte")
    g = glob.strip()
    while g.startswith(("./", "/")):
        g = g.removeprefix(".").lstrip("/")
    if not g:
        raise ToolError("path_glob is empty; omit it to search the whole repository")
    if ".." in g.split("/"):
        raise ToolError(f"'..' is not allowed in path_glob ({glob!r})")
    g = g.rstrip("/")
    # Without a slash, match a name at any depth, as a model writing '*.py' means.
    g = g if "/" in g else f"**/{g}"
    # A wildcard pathspec does not match the contents of a matching directory by itself.
    return [f":(glob){g}", f":(glob){g}/**"]


def _parse_grep_line(raw: bytes) -> tuple[str, int, str] | None:
    # With -z git prints "path\0line\0text", paths verbatim: no quoting to undo, no ':' ambiguity.
    parts = raw.split(b"\x00", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    text = parts[2].decode("utf-8", errors="replace").rstrip("\r")
    return parts[0].decode("utf-8", errors="replace"), int(parts[1]), text


async def git_grep(
    worktree: Path, query: str, *, regex: bool, pathspecs: list[str], keep: int, timeout: float = SEARCH_TIMEOUT_S,
    files: list[str] | None = None,
) -> GrepResult:
    """Run git grep over the tracked files (or only over `files`, tracked or not), keep the first
    `keep` matches and only count the rest.

    The output is streamed: after `keep` lines we stop parsing and just count newlines, so a
    query matching a million lines costs memory for `keep` of them and little CPU beyond git's.
    """
    mode = await _regex_flag(worktree) if regex else "-F"
    # Not --untracked: walking the worktree for untracked files doubles the cost of a search.
    scope = ("--no-index",) if files is not None else ()
    args = ("grep", *scope, "-n", "-z", "-I", "--no-color", mode, "-e", query, "--",
            *(pathspecs if files is None else map(literal, files)))
    result = GrepResult(matches=[], total=0)

    async def consume(stdout: asyncio.StreamReader) -> None:
        pending = b""
        last = b"\n"
        while chunk := await stdout.read(1 << 16):
            last = chunk[-1:]
            if len(result.matches) >= keep:
                # Past the cut: only count. A partial line held in `pending` is counted here,
                # when its newline arrives.
                result.total += chunk.count(b"\n")
                continue
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for raw in lines:
                result.total += 1
                if len(result.matches) < keep and (parsed := _parse_grep_line(raw)):
                    result.matches.append(parsed)
        if last != b"\n":  # output not ending in a newline: its last line is still uncounted
            result.total += 1
            if len(result.matches) < keep and (parsed := _parse_grep_line(pending)):
                result.matches.append(parsed)

    try:
        # Timed out or cancelled (the agent run was stopped): leaving the block stops git.
        async with Git(cwd=worktree).spawn(*args) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            stderr_task = asyncio.ensure_future(proc.stderr.read())
            try:
                await asyncio.wait_for(consume(proc.stdout), timeout)
                err = (await stderr_task).decode(errors="replace")
                rc = await proc.wait()
            except TimeoutError:
                result.timed_out = True
                return result
            finally:
                stderr_task.cancel()  # a no-op once it is done
    except GitError as exc:  # git could not be started
        raise ToolError(f"search failed: {exc.summary}") from None
    if rc not in (0, 1):
        # git reports a bad pattern as "fatal: -e option, '<query>': <reason>".
        bad_pattern = regex and "-e option" in err
        raise ToolError(f"{'invalid regular expression' if bad_pattern else 'search failed'}: {_git_error(err)}")
    return result


def _format_matches(res: GrepResult, args: SearchRepoArgs, capped_note: str) -> str:
    desc = f"{'regex' if args.regex else 'text'} {args.query!r}" + (f" in {args.path_glob!r}" if args.path_glob else "")
    if res.total == 0 and not res.timed_out:
        hint = " Try a shorter or different query" + (", or drop path_glob." if args.path_glob else ".")
        return f"No matches for {desc}.{hint}"
    lines = [f"{p}:{n}: {_truncate(t, SEARCH_LINE_MAX_CHARS)}" for p, n, t in res.matches]
    if res.timed_out:
        header = f"{len(lines)} matches shown for {desc}; the search was stopped after {SEARCH_TIMEOUT_S:.0f}s " \
                 f"(at least {res.total:,} matches). Narrow the query or use path_glob."  # fmt: skip
    elif res.total > len(lines):
        header = f"{len(lines)} of {res.total:,} matches shown for {desc} (in path order). " \
                 "Narrow the query or use path_glob to see the others."  # fmt: skip
    else:
        header = f"{res.total:,} match{'es' if res.total != 1 else ''} for {desc}:"
    return "\n".join([header + capped_note, *lines])


@tool(
    title="Search the repository",
    description=(
        "Search the repository's files (tracked and new, ignoring .gitignore'd and binary files) for "
        "lines containing a literal string, or a Perl-style regex with regex=true. Returns "
        "'path:line: text' lines in path order, at most max_results (default "
        f"{SEARCH_DEFAULT_RESULTS}, cap {SEARCH_MAX_RESULTS}), and says how many matches were cut. "
        "Matching is case-sensitive and per line. Use it to find where a function, class, error "
        "message or setting is defined or used; narrow with path_glob ('*.py', 'src/**/*.ts', 'app/models')."
    ),
    annotations=reads(),
)
async def search_repo(ctx: ToolContext, args: SearchRepoArgs) -> str:
    if not args.query:
        raise ToolError("query is empty")
    if "\n" in args.query or "\r" in args.query or "\x00" in args.query:
        raise ToolError("query must be a single line without NUL bytes; search_repo matches one line at a time")
    keep = max(1, min(args.max_results, SEARCH_MAX_RESULTS))
    capped_note = (
        f" (max_results is capped at {SEARCH_MAX_RESULTS})" if args.max_results > SEARCH_MAX_RESULTS else ""
    )
    pathspecs = glob_pathspecs(args.path_glob) if args.path_glob is not None else []
    root = ctx.worktree.resolve()
    res = await git_grep(root, args.query, regex=args.regex, pathspecs=pathspecs, keep=keep)
    created = await _created_files(root, ctx.applied)
    if args.path_glob is not None:
        created = [f for f in created if glob_match(args.path_glob, f)]
    if created:
        res = _merged(res, await git_grep(root, args.query, regex=args.regex, pathspecs=[], keep=keep, files=created),
                      keep)
    return _format_matches(res, args, capped_note)


async def _created_files(worktree: Path, applied: list[FileChange]) -> list[str]:
    """The files this run's edits created (untracked, not ignored, still there): the search of
    the tracked files misses them, so they are searched on their own. Naming each file keeps
    git from walking the worktree, which is what made `--untracked` cost a whole second search."""
    edited = sorted({c.file for c in applied})
    if not edited:
        return []
    listed = await run_git(worktree, "ls-files", "-z", "--others", "--exclude-standard", "--", *map(literal, edited))
    return sorted(p for p in listed.stdout.decode("utf-8", errors="replace").split("\x00") if p)


def _merged(tracked: GrepResult, created: GrepResult, keep: int) -> GrepResult:
    """Both searches' matches in path order (as one git grep would list them), cut at `keep`."""
    matches = list(heapq.merge(tracked.matches, created.matches, key=lambda m: m[0].encode()))[:keep]
    return GrepResult(matches=matches, total=tracked.total + created.total,
                      timed_out=tracked.timed_out or created.timed_out)


# --------------------------------------------------------------------------------------------
# list_files


class ListFilesArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(default="", description="Directory relative to the repository root; '' for the root.")
    glob: str | None = Field(
        default=None,
        description="List files below path (recursively) whose path relative to `path` matches, e.g. "
        "'*.py' (name at any depth) or 'tests/**/*.py'. Without it, only the directory's direct "
        "entries are listed.",
    )


async def repo_files(worktree: Path, rel_dir: str) -> list[str]:
    """Tracked plus untracked-but-not-ignored files under rel_dir ('' = all), root-relative."""
    spec = [literal(rel_dir)] if rel_dir else []
    listed = await run_git(worktree, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *spec)
    if listed.returncode != 0:
        raise ToolError(f"cannot list files: {_git_error(listed.stderr)}")
    seen: dict[str, None] = {}  # unmerged entries appear once per stage
    for raw in listed.stdout.split(b"\x00"):
        if raw:
            seen.setdefault(raw.decode("utf-8", errors="replace"), None)
    # Tracked files deleted in the worktree are still in the index; they are not there to read.
    return [p for p in seen if os.path.lexists(worktree / p)]


def _direct_entries(files: list[str], rel_dir: str) -> tuple[dict[str, int], list[str]]:
    """Split files into immediate subdirectories (with file counts) and immediate files."""
    prefix = f"{rel_dir}/" if rel_dir else ""
    dirs: dict[str, int] = {}
    direct: list[str] = []
    for f in files:
        rest = f[len(prefix) :]
        if "/" in rest:
            d = prefix + rest.split("/", 1)[0]
            dirs[d] = dirs.get(d, 0) + 1
        else:
            direct.append(f)
    return dirs, direct


@tool(
    title="List files of the repository",
    description=(
        "List the repository's files (tracked and new; .gitignore'd files are skipped). Without glob, "
        "shows the direct entries of a directory — subdirectories end with '/' and show how many files "
        "they hold. With glob, lists every file below path that matches ('*.py', 'tests/**/test_*.py'). "
        f"At most {LIST_MAX_ENTRIES} entries; the output says how many were cut. Paths are shown "
        "relative to the repository root, ready for read_file. Use it to get oriented or to find a file "
        "whose name you only partly know."
    ),
    annotations=reads(),
)
async def list_files(ctx: ToolContext, args: ListFilesArgs) -> str:
    root = ctx.worktree.resolve()
    resolved = resolve_in_worktree(root, args.path)
    if not resolved.is_dir():
        raise ToolError(f"{normalize_rel_path(args.path)!r} is a file, not a directory; use read_file to read it")
    rel_dir = resolved.relative_to(root).as_posix() if resolved != root else ""
    where = f"{rel_dir}/" if rel_dir else "repository root"
    files = sorted(await repo_files(root, rel_dir))
    if args.glob:
        return _globbed(files, rel_dir, args.glob, where)
    dirs, direct = _direct_entries(files, rel_dir)
    entries = [f"{d}/ ({n:,} file{'s' if n != 1 else ''})" for d, n in sorted(dirs.items())] + direct
    if not entries:
        return f"No files in {where}."
    header = f"{where} — {len(dirs)} director{'ies' if len(dirs) != 1 else 'y'}, {len(direct)} file(s)"
    return _bounded_listing(header, entries)


def _globbed(files: list[str], rel_dir: str, glob: str, where: str) -> str:
    prefix = f"{rel_dir}/" if rel_dir else ""
    hits = [f for f in files if glob_match(glob, f[len(prefix) :])]
    if not hits:
        return f"No files under {where} match {glob!r}."
    return _bounded_listing(f"{len(hits):,} file(s) under {where} matching {glob!r}", hits)


def _bounded_listing(header: str, entries: list[str]) -> str:
    shown = entries[:LIST_MAX_ENTRIES]
    lines = [header + ":", *shown]
    if len(entries) > len(shown):
        lines.append(
            f"[{len(shown)} of {len(entries):,} entries shown; {len(entries) - len(shown):,} cut — "
            "list a subdirectory or use glob to narrow]"
        )
    return "\n".join(lines)
