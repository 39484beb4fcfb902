"""Mapping a stack frame to the repository file it came from.

SDKs report where code ran, not where it lives in the repository: an absolute path inside a
container (`/code/errors/views.py`), a bundler URL (`webpack:///./src/app.js`), a Windows path,
or just a class name and a bare file name (Java/Kotlin). The mapper normalises all of these into
path components and matches them against the repository's tracked files by the longest common
suffix. When several files match equally well it says so (`ambiguous`, with the candidates):
a silently wrong guess would send the model reading the wrong code.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from common.git import Git, GitError
from domain import StackFrame

MappingStatus = Literal["mapped", "ambiguous", "not_in_repo", "library"]

MAX_CANDIDATES = 20

_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_DRIVE_RE = re.compile(r"^[A-Za-z]:[\\/]")
# Where third-party and standard-library code lives, whatever the platform. Third-party
# patterns are tried first so a venv path reports "site-packages", not the python it sits in.
_LIBRARY_PATH_RES = (
    re.compile(
        r"/(site-packages|dist-packages|node_modules|bower_components|vendor|gems|\.m2|\.gradle|\.cargo)/"
        r"|/go/pkg/mod/|/pkg/mod/[^/]+@",
        re.IGNORECASE,
    ),
    re.compile(
        r"/(usr|usr/local|opt)/go/src/|/goroot/src/|/lib(64)?/python\d+(\.\d+)?/|/python\d+/lib/"
        r"|/lib/ruby/|/rustc/[0-9a-f]+/|^/?<[^>]*>$",
        re.IGNORECASE,
    ),
)
_LIBRARY_MODULE_PREFIXES = (
    "java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "kotlinx.", "scala.",
    "android.", "androidx.", "dalvik.", "com.android.", "System.", "Microsoft.",
)
_JVM_EXTS = (".java", ".kt", ".kts", ".scala", ".groovy", ".clj")
_PY_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_JVM_MODULE_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_$][\w$]*)+$")


@dataclass(frozen=True)
class Mapping:
    """Where a frame lives in the repository.

    `path` is set when `status == "mapped"`, and also for a "library" frame (one the SDK marked
    as not in-app) whose file nevertheless matches exactly one repository file, so its source
    can still be shown when the model asks for library frames.
    """

    path: str | None
    status: MappingStatus
    candidates: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def in_repo(self) -> bool:
        return self.status == "mapped"


@dataclass(frozen=True)
class _Match:
    paths: list[str]
    common: int  # trailing path components shared with the frame's path
    exact: bool  # the whole repository path is that shared suffix (no contradicting directory)

    @property
    def score(self) -> tuple[int, bool]:
        return self.common, self.exact

    @property
    def strong(self) -> bool:
        # More than the bare file name agrees, or nothing disagrees.
        return self.common >= 2 or self.exact


class FrameMapper:
    """Maps frames to repository paths using an index of the tracked files by path suffix."""

    def __init__(self, repo_files: Iterable[str] | Path, source_root: str = "") -> None:
        files = list_repo_files(repo_files) if isinstance(repo_files, Path) else list(repo_files)
        self.files: frozenset[str] = frozenset(_clean_repo_path(f) for f in files if f)
        self.source_root = source_root_parts(source_root)
        # Every path suffix (`views.py`, `errors/views.py`, ...) → the files ending with it, so
        # the longest suffix a frame shares with any file is a handful of dict lookups, however
        # many `__init__.py` or `index.js` the repository has.
        self._by_suffix: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for path in sorted(self.files):
            parts = tuple(path.split("/"))
            for k in range(1, len(parts) + 1):
                self._by_suffix[parts[-k:]].append(path)
        self._cache: dict[tuple[object, ...], Mapping] = {}

    def map(self, frame: StackFrame) -> Mapping:
        key = (frame.abs_path, frame.filename, frame.module, frame.in_app)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._map(frame)
        return cached

    # ---- strategy ---------------------------------------------------------------------------

    def _map(self, frame: StackFrame) -> Mapping:
        reason = library_reason(frame)
        if reason:
            return Mapping(None, "library", reason=reason)
        best = self._best_match(frame)
        if frame.in_app is False:
            known = best.paths[0] if best is not None and len(best.paths) == 1 and best.strong else None
            return Mapping(known, "library", reason="marked not in-app by the SDK")
        if best is None or (frame.in_app is None and not best.strong):
            # in_app unknown and nothing convincing in the repository: third-party code.
            if frame.in_app is None:
                return Mapping(None, "library", reason="not found in the repository")
            return Mapping(None, "not_in_repo", reason="no repository file matches")
        if len(best.paths) == 1:
            return Mapping(best.paths[0], "mapped")
        return Mapping(None, "ambiguous", candidates=best.paths[:MAX_CANDIDATES],
                       reason=f"{len(best.paths)} files match equally well")

    def _best_match(self, frame: StackFrame) -> _Match | None:
        best: _Match | None = None
        for query in self.queries(frame):
            match = self._match(query)
            if match is None:
                continue
            if best is None or match.score > best.score:
                best = match
            elif match.score == best.score:
                best = _Match(sorted(set(best.paths) | set(match.paths)), best.common, best.exact)
        return self._within_source_root(best)

    def _within_source_root(self, best: _Match | None) -> _Match | None:
        """Of files that match equally well, those under the project's source root.

        In a monorepo, `/srv/app/views.py` from a container ends like `services/a/app/views.py`
        and `services/b/app/views.py` alike; the project's source root says which service sent
        the event. Only ties are settled this way: a frame that matches a single file outside the
        root (a shared library in the same repository) still maps to it.
        """
        if best is None or len(best.paths) < 2 or not self.source_root:
            return best
        prefix = "/".join(self.source_root) + "/"
        inside = [p for p in best.paths if p.startswith(prefix)]
        return _Match(inside, best.common, best.exact) if inside else best

    def queries(self, frame: StackFrame) -> list[tuple[str, ...]]:
        """The frame's location as candidate path-component tuples, most literal first."""
        out: list[tuple[str, ...]] = []
        for raw in (frame.abs_path, frame.filename):
            parts = normalize_frame_path(raw or "")
            if parts:
                out.append(parts)
                if self.source_root:
                    out.append(self.source_root + parts)
        for parts in module_paths(frame.module, frame.filename):
            out.append(parts)
            if self.source_root:
                out.append(self.source_root + parts)
        return list(dict.fromkeys(out))

    def _match(self, query: tuple[str, ...]) -> _Match | None:
        for k in range(len(query), 0, -1):
            paths = self._by_suffix.get(query[-k:])
            if not paths:
                continue
            suffix = "/".join(query[-k:])
            # A file whose whole path is the shared suffix has no directory contradicting the
            # frame, so it beats files that merely end the same way.
            if suffix in self.files:
                return _Match([suffix], k, True)
            return _Match(list(paths), k, False)
        return None


# ---- normalisation helpers (pure) -------------------------------------------------------------


def normalize_frame_path(raw: str) -> tuple[str, ...]:
    """Path components of a frame's file, without scheme, host, drive, `~` or `.`/`..`.

    `webpack:///./src/a.js`, `app:///src/a.js`, `http://host/static/a.js?v=1`, `~/src/a.js`,
    `C:\\work\\app\\a.py` and `./a.py` all reduce to their path components.
    """
    text = raw.strip()
    if not text or (text.startswith("<") and text.endswith(">")):
        return ()
    if _SCHEME_RE.match(text):
        text = text.split("://", 1)[1]
        text = text.split("?", 1)[0].split("#", 1)[0]
        # The authority (a host, or webpack's project namespace) is not part of the path.
        text = text.split("/", 1)[1] if "/" in text else ""
    elif _DRIVE_RE.match(text):
        text = text[2:]
    text = text.replace("\\", "/")
    if text.startswith("~"):
        text = text[1:]
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return tuple(parts)


def module_paths(module: str | None, filename: str | None) -> list[tuple[str, ...]]:
    """Repository paths a Python or JVM module name implies.

    `app.services.users` → `app/services/users.py`; `com.example.service.UserService` with file
    `UserService.kt` → `com/example/service/UserService.kt` (JVM frames give only a bare file
    name, the package comes from the class name).
    """
    if not module:
        return []
    base = posixpath.basename((filename or "").replace("\\", "/"))
    if base.endswith(_JVM_EXTS) or (not base and _looks_jvm(module)):
        return _jvm_paths(module, base)
    if base.endswith(".py") or (not base and _PY_MODULE_RE.match(module)):
        return _python_paths(module, base)
    return []


def _looks_jvm(module: str) -> bool:
    return bool(_JVM_MODULE_RE.match(module)) and module.rsplit(".", 1)[-1][:1].isupper()


def _jvm_paths(module: str, base: str) -> list[tuple[str, ...]]:
    if not _JVM_MODULE_RE.match(module):
        return []
    parts = module.split("$", 1)[0].split(".")  # Outer$Inner / lambdas live in Outer's file
    package = tuple(parts[:-1])
    if base:
        return [(*package, base)]
    cls = parts[-1]
    names = [cls, cls[:-2]] if cls.endswith("Kt") and len(cls) > 2 else [cls]  # Kotlin file facades
    return [(*package, f"{name}{ext}") for name in names for ext in (".java", ".kt", ".scala", ".groovy")]


def _python_paths(module: str, base: str) -> list[tuple[str, ...]]:
    if not _PY_MODULE_RE.match(module) or module == "__main__":
        return []
    parts = tuple(module.split("."))
    if base == "__init__.py":
        return [(*parts, "__init__.py")]
    if base:
        return [(*parts[:-1], f"{parts[-1]}.py")]
    return [(*parts[:-1], f"{parts[-1]}.py"), (*parts, "__init__.py")]


def library_reason(frame: StackFrame) -> str | None:
    """Why a frame is third-party or standard-library code, judged from its path or module."""
    for raw in (frame.abs_path, frame.filename):
        if not raw:
            continue
        if raw.startswith("node:"):
            return "Node.js core module"
        joined = "/" + "/".join(normalize_frame_path(raw))
        for pattern in _LIBRARY_PATH_RES:
            hit = pattern.search(joined) or pattern.search(raw.strip())
            if hit:
                return f"library path ({hit.group(0).strip('/') or raw})"
    module = frame.module or ""
    filename = frame.filename or ""
    if module.startswith(_LIBRARY_MODULE_PREFIXES) and "/" not in filename:
        return f"standard library ({module.split('.', 1)[0]})"
    return None


def source_root_parts(source_root: str) -> tuple[str, ...]:
    return normalize_frame_path(source_root or "")


def _clean_repo_path(path: str) -> str:
    return "/".join(normalize_frame_path(path))


# ---- repository file list -----------------------------------------------------------------------

_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache"})


def list_repo_files(root: Path) -> list[str]:
    """Tracked files of a worktree (`git ls-files`), or a directory walk when it is not a repo."""
    try:
        listed = Git(cwd=root).run("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    except GitError:
        return _walk_files(root)
    return [p for p in listed.text.split("\0") if p]


def _walk_files(root: Path) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        rel = Path(dirpath).relative_to(root).as_posix()
        out += [name if rel == "." else f"{rel}/{name}" for name in filenames]
    return out


__all__ = [
    "FrameMapper",
    "Mapping",
    "MappingStatus",
    "library_reason",
    "list_repo_files",
    "module_paths",
    "normalize_frame_path",
]
