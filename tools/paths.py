"""Keeping every file access inside the job's worktree.

Paths come from the LLM, which may have been steered by attacker-written event text, so a
path is treated as hostile until it has been normalised, checked component by component and
resolved (symlinks included) to a location inside the worktree. Reads are also bounded: a
huge or binary file would only flood the model's context.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from tools.base import ToolError

MAX_READ_BYTES = 1024 * 1024  # 1 MB: beyond this a file is generated or data, not code to read
BINARY_SNIFF_BYTES = 8192  # the same heuristic git uses: a NUL early on means binary
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:/")


def normalize_rel_path(path: str) -> str:
    """Turn a model-supplied path into a clean worktree-relative POSIX path ("" is the root).

    Raises ToolError for anything that cannot be a path inside the worktree.
    """
    if not isinstance(path, str):
        raise ToolError("path must be a string")
    if "\x00" in path:
        raise ToolError("path contains a NUL byte; give a plain relative path such as 'src/app/models.py'")
    raw = path.strip()
    # Backslashes are read as separators: a model quoting a Windows frame path means a directory,
    # and it stops '..\\..\\x' from slipping past the '..' check as one odd file name.
    slashed = raw.replace("\\", "/")
    if slashed.startswith(("/", "~")) or _WINDOWS_DRIVE.match(slashed):
        raise ToolError(
            f"absolute paths are not allowed ({raw!r}); give a path relative to the repository root, "
            "such as 'src/app/models.py'"
        )
    parts = [p for p in slashed.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ToolError(f"'..' is not allowed in paths ({raw!r}); paths are relative to the repository root")
    _refuse_git_dir(parts, raw)
    return posixpath.join(*parts) if parts else ""


def _refuse_git_dir(parts: list[str], shown: str) -> None:
    # Case-insensitive because on macOS/Windows checkouts ".GIT" is the same directory.
    if any(p.lower() == ".git" for p in parts):
        raise ToolError(f"access to git metadata is not allowed ({shown!r}); only the working tree can be read")


def resolve_in_worktree(worktree: Path, path: str, *, must_exist: bool = True) -> Path:
    """Resolve `path` (relative, from the model) to an absolute path inside `worktree`.

    Refuses absolute paths, '..', NUL bytes, anything under '.git', and symlinks (the file
    itself or any directory on the way) that lead outside the worktree or into '.git'.
    """
    rel = normalize_rel_path(path)
    root = worktree.resolve()
    candidate = root / rel if rel else root
    try:
        # resolve() follows every symlink on the way, dangling ones included, so the
        # containment check below covers intermediate directories as well as the leaf.
        resolved = candidate.resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # symlink loops, permission problems
        raise ToolError(f"cannot resolve {rel or '.'!r}: {exc}") from exc
    if resolved != root and not resolved.is_relative_to(root):
        raise ToolError(f"{rel!r} resolves (through a symlink) to a location outside the repository; refused")
    _refuse_git_dir(list(resolved.relative_to(root).parts), rel)
    if must_exist and not resolved.exists():
        raise ToolError(f"no such file or directory: {rel!r}; use list_files or search_repo to find the right path")
    return resolved


def rel_to_worktree(worktree: Path, resolved: Path) -> str:
    """The worktree-relative POSIX form of an already resolved path ("." for the root)."""
    rel = resolved.relative_to(worktree.resolve()).as_posix()
    return rel or "."


def format_size(n_bytes: int) -> str:
    if n_bytes >= 1024 * 1024:
        return f"{n_bytes / (1024 * 1024):.1f} MB"
    if n_bytes >= 1024:
        return f"{n_bytes / 1024:.1f} KB"
    return f"{n_bytes} bytes"


def is_binary_bytes(head: bytes) -> bool:
    return b"\x00" in head[:BINARY_SNIFF_BYTES]


def ensure_readable_file(resolved: Path, shown: str, *, max_bytes: int = MAX_READ_BYTES) -> None:
    """Refuse directories, huge files and binary files before their content is read."""
    if resolved.is_dir():
        raise ToolError(f"{shown!r} is a directory; use list_files to see what it contains")
    if not resolved.is_file():
        raise ToolError(f"{shown!r} is not a regular file")
    size = resolved.stat().st_size
    if size > max_bytes:
        raise ToolError(
            f"{shown} is {format_size(size)}, too large to read (limit {format_size(max_bytes)}); "
            "use search_repo to find the lines you need"
        )
    with resolved.open("rb") as fh:
        if is_binary_bytes(fh.read(BINARY_SNIFF_BYTES)):
            raise ToolError(f"{shown} is a binary file; only text files can be read")


def read_text(resolved: Path, shown: str, *, max_bytes: int = MAX_READ_BYTES) -> str:
    """Read a checked text file; undecodable bytes are replaced rather than failing the read."""
    ensure_readable_file(resolved, shown, max_bytes=max_bytes)
    return resolved.read_bytes().decode("utf-8", errors="replace")


def split_lines(text: str) -> list[str]:
    """Split on '\\n' only (not str.splitlines' form feeds etc.) so line numbers agree with git
    grep and editors; a trailing '\\r' is dropped so CRLF files read like LF ones."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]
