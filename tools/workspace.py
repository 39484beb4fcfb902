"""The git workspace a job acts on: a cached bare mirror per repository, a throw-away worktree
per job.

Cloning a large repository for every error would cost seconds to minutes, so each repository
is cloned once into `state_dir/mirrors/<name>.git` and only fetched at the start of a job.
The job then gets its own detached worktree from that mirror (`git worktree add` shares the
object store, so it only writes the checked-out files) and the worktree is removed when the
job ends. Writing the files of a large checkout still costs ~0.5 s, so a pool of spare
worktrees per repository (as many as jobs run at once, so a burst of jobs on one repository
finds one each) is kept filled in the background; a job claims one with a `git worktree move`
(a rename). A spare already at the job's commit with no tracked file changed (checked with one
lstat per file) is handed over as it is; otherwise an incremental `git checkout` moves it to the
target commit, rewriting only the files that differ. Spares are never handed out twice: a job's
worktree is always removed, never recycled, so no job sees another job's edits. Removal is a
rename at the job's end; deleting the files happens in the background, so a job does not hold
its worker slot while they go.

Hardening, because repositories and their configuration are not ours to trust (every command
runs through the shared runner, `common.git`, which applies it):
- hooks never run (`core.hooksPath=/dev/null` on every command), submodules are never recursed
  into, fsmonitor is off and LFS smudging is skipped, so checking out code executes nothing;
  a new mirror gets no templates (`--template=`);
- the file protocol is allowed only when the clone URL itself is a local path;
- a token is handed to git per command through `GIT_CONFIG_*` environment variables (an
  `http.<origin>.extraHeader`), so it never lands in the mirror's config, a remote URL, a
  command line visible in `ps`, or an error message (messages are scrubbed as well).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import math
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

# is_local_url, split_credentials and TOKEN_USER are re-exported: they were defined here first.
from common.git import (
    TOKEN_USER,
    Git,
    GitError,
    Remote,
    is_local_url,
    normalize_clone_url,
    redact_url,
    scrub,
    split_credentials,
)

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 1800.0  # a first clone of a big repository over a slow link can take long
LOCAL_TIMEOUT_S = 300.0  # worktree add / rev-parse / remove: purely local work
# A spare's index is rewritten once its files are no longer "racily clean" (see _settle_spares)
# when it is at least this large (some 800 files): fewer files cost little to hash again.
SETTLE_MIN_INDEX_BYTES = 100_000

# Only branches and tags: a plain `--mirror` would also pull GitHub's refs/pull/* (every PR
# ever opened), which makes fetches of busy repositories much slower for nothing we use.
FETCH_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")

_SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")
_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")
# A conservative subset of what git accepts in a ref name; anything else is not tried at all,
# so an attacker-written release string can never become a git option or a revision range.
_REF_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+@-]{0,199}$")

Target = Literal["release", "branch", "commit"]


class WorkspaceError(Exception):
    """A repository could not be fetched or checked out; the message is safe to show."""


@dataclass(frozen=True)
class Workspace:
    """One job's checkout."""

    path: Path  # the worktree root
    base_sha: str  # the commit checked out (detached HEAD)
    branch: str  # the repository's default branch: where a fix PR goes
    target: Target  # what base_sha was resolved from
    release_ref: str | None = None  # the release candidate that resolved, when target == "release"
    mirror: Path = field(default=Path(), compare=False)
    prewarmed: bool = False  # built from a spare worktree rather than a full checkout


@dataclass(frozen=True)
class Resolved:
    """The commit a job should work on, found without checking anything out."""

    sha: str
    target: Target
    branch: str
    release_ref: str | None = None


def safe_name(text: str, *, max_len: int = 80) -> str:
    """A filesystem-safe, collision-free directory name for `text`."""
    cleaned = _SAFE_NAME_RE.sub("_", text).strip("._-")[:max_len] or "x"
    if cleaned == text:
        return cleaned
    return f"{cleaned}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def mirror_name(clone_url: str) -> str:
    clean = redact_url(clone_url)
    parts = urlsplit(clean)
    readable = (parts.netloc + parts.path) if parts.netloc else clean
    readable = readable.removesuffix("/").removesuffix(".git")
    digest = hashlib.sha256(clean.encode()).hexdigest()[:10]
    base = _SAFE_NAME_RE.sub("_", readable).strip("._-")[-60:] or "repo"
    return f"{base}-{digest}"


def release_candidates(release: str | None) -> list[str]:
    """Revisions a release string may name, most specific first.

    Handles a bare sha, `name@sha`, `name-sha`, `1.2.3+sha` and tags (`v1.2.3`, `name@1.2.3`).
    Abbreviated shas made only of digits are skipped: a build number or date (`20240101`) is far
    likelier than such a sha, and resolving it by chance would check out the wrong code.
    """
    if not release or not release.strip():
        return []
    release = release.strip()
    out: list[str] = []
    tokens = [release, *reversed(re.split(r"[@+\-_/]", release))]
    for tok in tokens:
        low = tok.lower()
        if _SHA_RE.match(low) and (len(low) == 40 or not low.isdigit()):
            out.append(low)
    version = release.rsplit("@", 1)[-1]
    for tag in (release, version, f"v{version}"):
        if _REF_NAME_RE.match(tag) and ".." not in tag and not tag.endswith((".lock", "/", ".")):
            out.append(f"refs/tags/{tag}")
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------------------------
# running git (through the shared runner, common.git, which does the hardening)


def _git(remote: Remote, args: list[str], *, git_dir: Path | None = None, cwd: Path | None = None,
         timeout: float = LOCAL_TIMEOUT_S, what: str = "git", config: tuple[str, ...] = ()) -> str:
    try:
        result = Git(cwd=cwd, git_dir=git_dir, remote=remote, config=config, timeout=timeout).run(*args)
    except GitError as exc:
        # `from None`: nothing unscrubbed travels further in a traceback.
        raise WorkspaceError(
            scrub(f"{what} failed for {redact_url(remote.url)}: {exc.summary}", remote.secrets)
        ) from None
    return result.text.removesuffix("\n")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock shared by every process using the same state directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------


class Workspaces:
    """Mirrors and per-job worktrees under one state directory."""

    def __init__(self, state_dir: Path, *, token_user: str = TOKEN_USER,
                 fetch_timeout: float = FETCH_TIMEOUT_S, prewarm: bool = True, spares: int = 1) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.mirrors_dir = self.state_dir / "mirrors"
        self.worktrees_dir = self.state_dir / "worktrees"
        self.token_user = token_user
        self.fetch_timeout = fetch_timeout
        self.prewarm = prewarm and spares > 0
        self.spares = spares if prewarm else 0  # spare worktrees kept ready per repository
        self._locks: dict[str, asyncio.Lock] = {}
        # monotonic time at which the last fetch of each mirror *started*: a job that asked for
        # fresh data before then is served by that fetch and need not fetch again.
        self._fetch_started: dict[str, float] = {}
        # The mirrors whose spares are being built, and a signal each time one is ready (or the
        # building stops): threads wait on it for a spare rather than write a competing checkout.
        self._filling: set[str] = set()
        self._spares_changed = threading.Condition()
        # Spares are built on a thread of their own: jobs waiting for one hold threads of the
        # shared pool, which must not be the threads the build itself waits for.
        self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spare-worktrees")
        self._background: set[asyncio.Task[None]] = set()
        # Per job id: the prune that makes the mirror forget the job's last worktree.
        self._forgetting: dict[str, asyncio.Task[None]] = {}

    async def aclose(self) -> None:
        """Wait for background work, spare builds and deletions (call before shutting down the loop)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def mirror_path(self, clone_url: str) -> Path:
        return self.mirrors_dir / f"{mirror_name(normalize_clone_url(clone_url))}.git"

    def worktree_path(self, job_id: str) -> Path:
        return self.worktrees_dir / safe_name(job_id)  # safe_name never starts with "."

    def spare_paths(self, mirror: Path) -> list[Path]:
        """The repository's pool of spare worktrees, one path per slot."""
        return [self.worktrees_dir / f".spare-{mirror.stem}{f'@{n}' if n else ''}" for n in range(self.spares)]

    def spare_path(self, mirror: Path) -> Path:
        return self.worktrees_dir / f".spare-{mirror.stem}"  # the pool's first slot

    @contextlib.asynccontextmanager
    async def checkout(
        self,
        clone_url: str,
        default_branch: str,
        job_id: str,
        *,
        release: str | None = None,
        token: str | None = None,
        token_user: str | None = None,
        git_config: tuple[str, ...] = (),
        commit: str | None = None,
    ) -> AsyncIterator[Workspace]:
        """Fetch the mirror and yield a fresh worktree; it is removed when the block exits.

        The worktree is at `commit` when given (recovering a job pinned to its base), else at
        the release's commit when the release names one in the repository, else at the head
        of `default_branch`. `token_user` is the HTTPS user the forge wants with its token
        (GitLab `oauth2`, Bitbucket `x-token-auth`, …); `git_config` its TLS settings.
        """
        remote = self._remote(clone_url, token, token_user, git_config)
        mirror = self.mirror_path(clone_url)
        pinned_here = commit is not None and await asyncio.to_thread(self._has_commit, remote, mirror, commit)
        if not pinned_here:
            await self._sync(remote, mirror)  # a pinned commit already in the mirror needs no network
        if (forgetting := self._forgetting.get(job_id)) is not None:
            # This job's last worktree (a retry, right after) is still registered at the same path.
            await asyncio.shield(forgetting)
        ws = await asyncio.to_thread(self._add_worktree, remote, mirror, default_branch, job_id, release, commit)
        if self.prewarm:
            self._schedule_spare(remote, mirror, ws.base_sha)
        try:
            yield ws
        finally:
            # A rename (instant, and so never interrupted by a cancellation): the job's path is
            # free at once and the slot is released; the files are deleted in the background
            # (or, if the process dies first, by the start-up sweep of `.trash-*`).
            trash = self._move_to_trash(ws.path)
            if trash is not None:
                forget = self._in_background(asyncio.to_thread(self._prune, remote, mirror))
                self._forgetting[job_id] = forget
                forget.add_done_callback(lambda task: self._forgotten(job_id, task))
                self._in_background(asyncio.to_thread(self._delete_files, trash))

    async def resolve(self, clone_url: str, default_branch: str, *, release: str | None = None,
                      token: str | None = None, token_user: str | None = None,
                      git_config: tuple[str, ...] = ()) -> Resolved:
        """Fetch, then name the commit `checkout` would use, without writing a worktree (so a
        durable workflow can record it once and pin later checkouts with `commit=`)."""
        remote = self._remote(clone_url, token, token_user, git_config)
        mirror = self.mirror_path(clone_url)
        await self._sync(remote, mirror)
        target, sha, ref = await asyncio.to_thread(self._resolve_target, remote, mirror, default_branch, release, None)
        return Resolved(sha=sha, target=target, branch=default_branch, release_ref=ref)

    @staticmethod
    def _has_commit(remote: Remote, mirror: Path, commit: str) -> bool:
        sha = commit.strip().lower()
        return (mirror / "HEAD").exists() and bool(_SHA_RE.match(sha)) and _rev_parse(remote, mirror, sha) is not None

    def _remote(self, clone_url: str, token: str | None, token_user: str | None = None,
                git_config: tuple[str, ...] = ()) -> Remote:
        return Remote.of(clone_url, token, user=token_user or self.token_user, config=git_config)

    # ---- mirror ----------------------------------------------------------------------------

    async def prefetch(self, clone_url: str, *, token: str | None = None, token_user: str | None = None,
                       git_config: tuple[str, ...] = ()) -> Path:
        """Clone or fetch a repository's mirror ahead of its first job; returns the mirror path."""
        mirror = self.mirror_path(clone_url)
        await self._sync(self._remote(clone_url, token, token_user, git_config), mirror)
        return mirror

    async def _sync(self, remote: Remote, mirror: Path) -> None:
        """Clone or fetch `mirror`: one fetch per repository at a time, in this process (asyncio
        lock, so waiting costs no thread) and across processes (file lock)."""
        key = str(mirror)
        requested = time.monotonic()
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if self._fetch_started.get(key, float("-inf")) >= requested and mirror.exists():
                return  # a fetch that began after we asked has just completed
            self._fetch_started[key] = time.monotonic()
            await asyncio.to_thread(self._sync_mirror, remote, mirror)

    def _sync_mirror(self, remote: Remote, mirror: Path) -> None:
        with _file_lock(mirror.with_suffix(".lock")):
            if not (mirror / "HEAD").exists():
                self._clone(remote, mirror)
                return
            # Fetch reads every worktree's HEAD, and a worktree being added has a placeholder
            # HEAD for a moment ("bad object"), so worktree bookkeeping waits for the fetch.
            with self._admin_lock(mirror):
                self._fetch(remote, mirror)

    def _clone(self, remote: Remote, mirror: Path) -> None:
        # Built beside its final place and renamed, so a failed or interrupted first clone never
        # leaves a half mirror that later jobs would mistake for a good one.
        tmp = mirror.with_name(f"{mirror.name}.tmp-{uuid.uuid4().hex[:8]}")
        shutil.rmtree(mirror, ignore_errors=True)
        try:
            _git(remote, ["init", "--bare", "--quiet", "--template=", str(tmp)], what="git init")
            self._configure_remote(remote, tmp)
            self._fetch(remote, tmp)
            os.rename(tmp, mirror)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def _configure_remote(remote: Remote, git_dir: Path) -> None:
        _git(remote, ["config", "remote.origin.url", remote.url], git_dir=git_dir, what="git config")
        for spec in FETCH_REFSPECS:
            _git(remote, ["config", "--add", "remote.origin.fetch", spec], git_dir=git_dir, what="git config")

    def _fetch(self, remote: Remote, git_dir: Path) -> None:
        _git(
            remote,
            ["fetch", "--prune", "--no-recurse-submodules", "--quiet", "origin"],
            git_dir=git_dir,
            # An auto-gc after the fetch must not prune worktree entries behind the admin lock's back.
            config=("gc.worktreePruneExpire=never",),
            timeout=self.fetch_timeout,
            what="git fetch",
        )

    # ---- worktree --------------------------------------------------------------------------
    #
    # git's bookkeeping under $GIT_DIR/worktrees/ is not safe against concurrent add, move and
    # prune: removing the last entry rmdirs the directory a parallel `worktree add` is creating
    # its entry in. So those (millisecond) steps hold a per-mirror file lock, while the slow parts,
    # writing and deleting thousands of files, run outside it and in parallel.

    def _add_worktree(self, remote: Remote, mirror: Path, branch: str, job_id: str,
                      release: str | None, commit: str | None) -> Workspace:
        target, sha, release_ref = self._resolve_target(remote, mirror, branch, release, commit)
        path = self.worktree_path(job_id)
        if path.exists() or path.is_symlink():
            # Left over by a crashed run of the same job: its content is stale by definition.
            self._remove_worktree(remote, mirror, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        prewarmed = self.prewarm and self._claim_spare(remote, mirror, path, sha)
        if not prewarmed and self._await_spare(mirror):
            prewarmed = self._claim_spare(remote, mirror, path, sha)
        if not prewarmed:
            self._new_worktree(remote, mirror, path, sha)
        return Workspace(path=path.resolve(), base_sha=sha, branch=branch, target=target,
                         release_ref=release_ref, mirror=mirror, prewarmed=prewarmed)

    @staticmethod
    def _admin_lock(mirror: Path) -> contextlib.AbstractContextManager[None]:
        return _file_lock(mirror.with_name(f"{mirror.stem}.worktrees.lock"))

    def _new_worktree(self, remote: Remote, mirror: Path, path: Path, sha: str) -> None:
        with self._admin_lock(mirror):
            _git(remote, ["worktree", "add", "--no-checkout", "--detach", "--quiet", str(path), sha],
                 git_dir=mirror, what="git worktree add")
        try:
            # What `worktree add` itself runs to check out, here outside the lock.
            _git(remote, ["reset", "--hard", "--quiet", "--no-recurse-submodules"], cwd=path,
                 what="git checkout")
        except WorkspaceError:
            self._remove_worktree(remote, mirror, path)
            raise

    def _remove_worktree(self, remote: Remote, mirror: Path, path: Path) -> None:
        # Renamed away first (instant), so the job's path is free at once and the entry is
        # prunable; the slow delete then runs without holding the lock.
        self._delete_files(self._move_to_trash(path))
        self._prune(remote, mirror)

    @staticmethod
    def _delete_files(trash: Path | None) -> None:
        """Delete a worktree already moved out of the way."""
        if trash is not None:
            if trash.is_symlink():
                trash.unlink()
            shutil.rmtree(trash, ignore_errors=True)

    def _prune(self, remote: Remote, mirror: Path) -> None:
        """Let the mirror forget its worktrees that were moved or deleted."""
        if mirror.exists():
            with self._admin_lock(mirror), contextlib.suppress(WorkspaceError):
                _git(remote, ["worktree", "prune"], git_dir=mirror, what="git worktree prune")

    def _move_to_trash(self, path: Path) -> Path | None:
        """Where `path` now is, to be deleted: a trash name, itself if it cannot be moved, or
        None if it is already gone."""
        trash = self.worktrees_dir / f".trash-{uuid.uuid4().hex[:12]}"
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return None
        except OSError:
            return path
        return trash

    # ---- spare worktrees -------------------------------------------------------------------

    def _claim_spare(self, remote: Remote, mirror: Path, path: Path, sha: str) -> bool:
        """Turn the repository's spare worktree into this job's, at `sha`; False if there is none.

        Under the admin lock exactly one job (of any process) gets a given spare.
        """
        with self._admin_lock(mirror):
            spare = next((p for p in self.spare_paths(mirror) if (p / ".git").is_file()), None)
            if spare is None:
                return False
            try:
                _git(remote, ["worktree", "move", str(spare), str(path)], git_dir=mirror, what="git worktree move")
            except WorkspaceError as exc:
                log.warning("spare worktree unusable: %s", exc)
                return False
        try:
            if not self._pristine_at(remote, path, sha):
                # --force: if anything touched the spare, the commit's content wins.
                _git(remote, ["checkout", "--force", "--detach", "--quiet", sha], cwd=path, what="git checkout")
        except WorkspaceError as exc:
            log.warning("discarding spare worktree: %s", exc)
            self._remove_worktree(remote, mirror, path)
            return False
        return True

    @staticmethod
    def _pristine_at(remote: Remote, path: Path, sha: str) -> bool:
        """True when the worktree is at `sha` with no tracked file changed, so there is nothing to
        check out: the usual case of a spare built at the commit a job wants.

        A spare is only ever written by its builder, but checking costs one (parallel) lstat of
        each file, while even a no-op `git checkout --force` also walks the trees and rewrites
        the index: for Django's 7,000 files 12-16 ms against 17-22 ms, and 18-45 ms against
        30-114 ms while the spare's index is not yet settled (see _settle_spares).
        """
        try:
            head = _git(remote, ["rev-parse", "--verify", "--quiet", "HEAD"], cwd=path, what="git rev-parse")
            if head != sha:
                return False
            _git(remote, ["diff-files", "--quiet"], cwd=path, what="git diff-files")  # exit 1: changed
        except WorkspaceError:
            return False
        return True

    def _schedule_spare(self, remote: Remote, mirror: Path, sha: str) -> None:
        with self._spares_changed:
            if str(mirror) in self._filling or self._empty_slot(mirror) is None:
                return
            self._filling.add(str(mirror))
        self._in_background(self._build_in_background(remote, mirror, sha))

    async def _build_in_background(self, remote: Remote, mirror: Path, sha: str) -> None:
        built = await asyncio.get_running_loop().run_in_executor(self._builder, self._fill_spares, remote, mirror, sha)
        if built:
            # The spares are claimable already; their indexes are rewritten once the clock has
            # left the second they were written in (see _settle_spares), without holding up the
            # builder. The margin: file times come from the kernel's coarse clock, a few ms late.
            await asyncio.sleep(max(0.0, math.floor(time.time()) + 1.02 - time.time()))
            await asyncio.to_thread(self._settle_spares, remote, mirror, built)

    def _await_spare(self, mirror: Path) -> bool:
        """Wait for a spare being built (True when one is ready): finishing it costs less than a
        second checkout written beside it, both slowed down by the other."""
        deadline = time.monotonic() + LOCAL_TIMEOUT_S
        with self._spares_changed:
            while str(mirror) in self._filling and not self._has_spare(mirror):
                if not self._spares_changed.wait(deadline - time.monotonic()):
                    break
            return self._has_spare(mirror)

    def _has_spare(self, mirror: Path) -> bool:
        return any((p / ".git").is_file() for p in self.spare_paths(mirror))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background_done)
        return task

    def _forgotten(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._forgetting.get(job_id) is task:
            del self._forgetting[job_id]

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background worktree work failed: %s", task.exception())

    def _empty_slot(self, mirror: Path) -> Path | None:
        return next((p for p in self.spare_paths(mirror) if not (p / ".git").exists()), None)

    def _fill_spares(self, remote: Remote, mirror: Path, sha: str) -> list[Path]:
        """Build a spare in each empty slot; return those whose index is worth settling."""
        # One at a time: checkouts written in parallel only slow each other (and the jobs) down.
        to_settle: list[Path] = []
        try:
            for _ in self.spare_paths(mirror):  # bounded: a slot that cannot be filled is not retried forever
                if (slot := self._empty_slot(mirror)) is None:
                    break
                if self._build_spare(remote, mirror, sha, slot):
                    to_settle.append(slot)
                with self._spares_changed:
                    self._spares_changed.notify_all()
        finally:
            with self._spares_changed:
                self._filling.discard(str(mirror))
                self._spares_changed.notify_all()
        return to_settle

    def _build_spare(self, remote: Remote, mirror: Path, sha: str, spare: Path) -> bool:
        """Build the spare; True when its index is large enough to be worth settling."""
        # Built under a private name and moved into place only when complete, so a claimed
        # spare is never a half-written checkout (even if this process dies mid-way).
        tmp = self.worktrees_dir / f".building-{mirror.stem}-{uuid.uuid4().hex[:8]}"
        try:
            self._new_worktree(remote, mirror, tmp, sha)
            index = _git(remote, ["rev-parse", "--path-format=absolute", "--git-path", "index"], cwd=tmp,
                         what="git rev-parse")
            large = Path(index).stat().st_size >= SETTLE_MIN_INDEX_BYTES
            with self._admin_lock(mirror):
                if spare.exists():
                    return False  # filled meanwhile, by another process
                _git(remote, ["worktree", "move", str(tmp), str(spare)], git_dir=mirror, what="git worktree move")
        finally:
            if tmp.exists():
                self._remove_worktree(remote, mirror, tmp)
        return large

    def _settle_spares(self, remote: Remote, mirror: Path, spares: list[Path]) -> None:
        """Rewrite the index of spares built in an earlier second, so git trusts their files.

        git as commonly built (without USE_NSEC, like Debian's) compares timestamps to the
        second: a file written in the same second as the index is "racily clean", so git
        re-reads and hashes it in every command that reads the index, until the index is written
        in a later second. A checkout writes thousands of such files, which would make claiming
        the spare, and each `git status` or `diff` of its job, cost several times its lstat walk.
        """
        for spare in spares:
            # A claim moves a spare under this lock, so no job's worktree is ever refreshed here.
            with self._admin_lock(mirror), contextlib.suppress(WorkspaceError):
                if (spare / ".git").is_file():  # not claimed meanwhile (or its successor: as good)
                    _git(remote, ["update-index", "-q", "--refresh"], cwd=spare, what="git update-index")

    def discard_spares(self) -> None:
        """Remove every spare worktree and any deletion a crash interrupted (e.g. to reclaim
        disk); spares are rebuilt on demand."""
        for spare in self.worktrees_dir.glob(".spare-*"):
            mirror = self.mirrors_dir / f"{spare.name.removeprefix('.spare-').split('@')[0]}.git"
            self._remove_worktree(Remote(url=str(mirror), env={}, secrets=()), mirror, spare)
        for trash in self.worktrees_dir.glob(".trash-*"):
            shutil.rmtree(trash, ignore_errors=True)

    def sweep(self, *, jobs: bool) -> list[str]:
        """Remove what a killed process left behind, and return the names removed.

        Always: the worktrees of MCP sessions whose process is gone (named `mcp-<pid>-…`). With
        `jobs`, also every job worktree and interrupted deletions and spare builds — only the
        service may ask, at start-up, before it resumes any job (a resumed job checks out anew);
        an MCP session sharing the state directory must not touch the service's work in flight.
        Then each mirror forgets the worktrees that no longer exist.
        """
        if not self.worktrees_dir.exists():
            return []
        removed: list[str] = []
        for entry in self.worktrees_dir.iterdir():
            name = entry.name
            stale = _dead_mcp_session(name) or (
                jobs and (name.startswith((".trash-", ".building-")) or not name.startswith((".", "mcp-")))
            )
            if stale:
                if entry.is_symlink() or entry.is_file():
                    entry.unlink()
                else:
                    shutil.rmtree(entry, ignore_errors=True)
                removed.append(name)
        for mirror in self.mirrors_dir.glob("*.git") if self.mirrors_dir.exists() else []:
            with self._admin_lock(mirror), contextlib.suppress(WorkspaceError):
                _git(Remote(url=str(mirror), env={}, secrets=()), ["worktree", "prune"], git_dir=mirror,
                     what="git worktree prune")
        return removed

    def _resolve_target(self, remote: Remote, mirror: Path, branch: str, release: str | None,
                        commit: str | None) -> tuple[Target, str, str | None]:
        if commit:
            sha = _rev_parse(remote, mirror, commit.strip().lower()) if _SHA_RE.match(commit.strip().lower()) else None
            if sha is None:
                raise WorkspaceError(f"commit {commit!r} is not in {redact_url(remote.url)}")
            return "commit", sha, None
        if not branch or not _REF_NAME_RE.match(branch) or ".." in branch:
            raise WorkspaceError(f"invalid default branch name {branch!r}")
        head = _rev_parse(remote, mirror, f"refs/heads/{branch}")
        if head is None:
            raise WorkspaceError(
                f"branch {branch!r} not found in {redact_url(remote.url)}"
                f" (branches: {', '.join(_branches(remote, mirror)[:20]) or 'none'})"
            )
        for candidate in release_candidates(release):
            sha = _rev_parse(remote, mirror, candidate)
            # The release comes from event data, which anyone holding a public DSN can write: only
            # a commit already on the default branch may be the base of a PR into it, or an
            # unmerged branch's commits would ride along into the fix's pull request.
            if sha and _is_ancestor(remote, mirror, sha, head):
                return "release", sha, candidate
        return "branch", head, None


def _dead_mcp_session(name: str) -> bool:
    match = re.match(r"mcp-(\d+)-", name)
    if match is None:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def _is_ancestor(remote: Remote, git_dir: Path, sha: str, head: str) -> bool:
    try:
        _git(remote, ["merge-base", "--is-ancestor", sha, head], git_dir=git_dir, what="git merge-base")
    except WorkspaceError:  # exit 1: not an ancestor (or not comparable)
        return False
    return True


def _rev_parse(remote: Remote, git_dir: Path, rev: str) -> str | None:
    try:
        out = _git(remote, ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
                   git_dir=git_dir, what="git rev-parse")
    except WorkspaceError:
        return None
    out = out.strip()
    return out if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", out) else None


def _branches(remote: Remote, git_dir: Path) -> list[str]:
    try:
        out = _git(remote, ["for-each-ref", "--format=%(refname:short)", "refs/heads/"], git_dir=git_dir,
                   what="git for-each-ref")
    except WorkspaceError:
        return []
    return [line for line in out.splitlines() if line]


__all__ = [
    "FETCH_REFSPECS",
    "TOKEN_USER",
    "Resolved",
    "Workspace",
    "WorkspaceError",
    "Workspaces",
    "is_local_url",
    "mirror_name",
    "normalize_clone_url",
    "redact_url",
    "release_candidates",
    "safe_name",
    "scrub",
    "split_credentials",
]
