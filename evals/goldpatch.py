"""The gold patch as search/replace edits: what the oracle sends through `propose_patch`.

`git apply` is the authority on what gold.patch means (renames, missing newlines at the end of
a file, CRLF), so the patch is applied to a scratch copy of the case's repository and the
edits are derived from the before/after contents: each changed region becomes one
`FileChange` whose `original` is the region plus up to three lines of context, widened until
it occurs exactly once in the file as it stands at that point (earlier edits to the same file
included), because propose_patch refuses an ambiguous `original`.
"""

from __future__ import annotations

import difflib
import filecmp
import os
import shutil
import tempfile
from pathlib import Path

from common.git import Git, GitError
from domain import FileChange
from evals.sandbox import COPY_IGNORE

CONTEXT_LINES = 3


class GoldPatchError(Exception):
    """gold.patch does not apply, or cannot be expressed as propose_patch edits."""


def _read(path: Path) -> str:
    if path.is_symlink() or not path.is_file():
        raise GoldPatchError(f"{path.name} is not a regular file; the oracle cannot express it as an edit")
    try:
        return path.read_bytes().decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise GoldPatchError(f"{path.name} is not UTF-8 text; the oracle cannot express it as an edit") from None


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def apply_gold(repo: Path, patch: Path, dest: Path) -> None:
    """Copy `repo` to `dest` and apply `patch` there (raises GoldPatchError when it fails)."""
    shutil.copytree(repo, dest, ignore=COPY_IGNORE, symlinks=True)
    try:
        Git(cwd=dest, timeout=60).run("apply", "--whitespace=nowarn", str(patch.resolve()))
    except GitError as exc:
        raise GoldPatchError(f"gold.patch does not apply: {exc.stderr.strip() or exc}") from None


def _same(a: Path, b: Path) -> bool:
    """Whether two repository entries are equal as git sees them: a symlink is its target
    string, never what it points at (a link to a directory must not be opened as a file)."""
    if a.is_symlink() or b.is_symlink():
        return a.is_symlink() and b.is_symlink() and os.readlink(a) == os.readlink(b)
    return filecmp.cmp(a, b, shallow=False)


def changed_paths(before: Path, after: Path) -> tuple[list[str], list[str], list[str]]:
    """(modified, added, deleted) repository paths between two trees."""
    old, new = _files(before), _files(after)
    modified = sorted(p for p in old & new if not _same(before / p, after / p))
    return modified, sorted(new - old), sorted(old - new)


def gold_edits(repo: Path, patch: Path) -> list[FileChange]:
    """The edits that turn `repo` into `repo` + `patch`, in an order propose_patch can apply."""
    with tempfile.TemporaryDirectory(prefix="autofixer-gold-") as tmp:
        after = Path(tmp) / "repo"
        apply_gold(repo, patch, after)
        modified, added, deleted = changed_paths(repo, after)
        if deleted:
            raise GoldPatchError(f"gold.patch deletes {', '.join(deleted)}; propose_patch cannot delete files")
        changes: list[FileChange] = []
        for rel in modified:
            changes += file_edits(rel, _read(repo / rel), _read(after / rel))
        for rel in added:
            changes.append(FileChange(file=rel, original="", modified=_read(after / rel),
                                      description="gold patch: new file"))
    return changes


def file_edits(rel: str, old: str, new: str) -> list[FileChange]:
    """Search/replace edits turning `old` into `new`, each `original` unique when it is applied."""
    if not old:
        raise GoldPatchError(f"{rel} is empty before the patch; an empty 'original' would mean a new file")
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    current = list(a)  # the file as propose_patch will see it, edit by edit
    offset = 0  # how far earlier edits moved the lines below them
    edits: list[FileChange] = []
    groups = difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(CONTEXT_LINES)
    for n, group in enumerate(groups, 1):
        i1, i2 = group[0][1] + offset, group[-1][2] + offset
        replacement = b[group[0][3]:group[-1][4]]
        lo, hi = i1, i2
        before: list[str] = []
        after: list[str] = []
        # Widen symmetrically with unchanged neighbouring lines until `original` is unique.
        while True:
            original = "".join(current[lo:hi])
            if original and _occurrences(current, original) == 1:
                break
            if lo == 0 and hi == len(current):
                raise GoldPatchError(f"{rel}: cannot find a unique 'original' for change {n}")
            if lo > 0:
                lo -= 1
                before.insert(0, current[lo])
            if hi < len(current):
                after.append(current[hi])
                hi += 1
        modified = "".join(before + replacement + after)
        edits.append(FileChange(file=rel, original=original, modified=modified,
                                description=f"gold patch: change {n} in {rel}"))
        current[lo:hi] = before + replacement + after
        offset += len(replacement) - (i2 - i1)
    if "".join(current) != new:
        raise GoldPatchError(f"{rel}: the derived edits do not reproduce the gold file")
    return edits


def _occurrences(lines: list[str], needle: str) -> int:
    """Occurrences of `needle` in the joined text, overlapping ones included (str.count skips
    overlaps; propose_patch would see two matches)."""
    text = "".join(lines)
    count, at = 0, text.find(needle)
    while at != -1:
        count += 1
        at = text.find(needle, at + 1)
    return count


def patch_paths(patch_text: str) -> set[str]:
    """Repository paths a unified diff names (both sides, /dev/null excluded): enough to know
    which files the gold fix owns, without applying it."""
    paths: set[str] = set()
    for line in patch_text.splitlines():
        if line.startswith(("--- ", "+++ ")):
            name = line[4:].split("\t", 1)[0].strip()
            if name != "/dev/null":
                paths.add(name[2:] if name.startswith(("a/", "b/")) else name)
    return paths
