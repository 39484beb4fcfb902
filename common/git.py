"""The one way autofixer runs git: hardened, with a timeout, and never leaking a token.

Every git command the product runs (mirrors and worktrees, the agent's search and listing
tools, diffs, commits, pushes, the demo and the eval sandbox) goes through `Git`:

    Git(cwd=worktree).run("add", "-A", "--", literal(path))
    await Git(cwd=worktree, remote=Remote.of(clone_url, token)).arun("push", ...)
    async with Git(cwd=worktree).spawn("grep", ...) as proc: ...   # streamed output

Hardening, because repositories, their configuration and the host's environment are not ours
to trust:
- environment: every inherited `GIT_*` variable is dropped (GIT_DIR, GIT_WORK_TREE,
  GIT_INDEX_FILE, GIT_CONFIG_*, GIT_SSH_COMMAND, GIT_EXEC_PATH, GIT_TRACE*, author overrides…)
  except the TLS trust anchors in `KEPT_GIT_VARS`; git never prompts (no terminal prompt, no
  askpass program), takes no optional locks, skips LFS smudging and speaks C-locale English;
- `-c` options on every command (`HARDENED_CONFIG`): hooks off, fsmonitor off, no external diff,
  no colour, no signing, no submodule recursion, paths printed verbatim;
- the file protocol is allowed only when the command's remote is itself a local path;
- a token travels only in the environment of the command that needs it, as an
  `http.<origin>.extraHeader` set through `GIT_CONFIG_COUNT/KEY_n/VALUE_n` (scoped to the
  remote's origin, so a redirect to another host never gets it): never in argv (visible in
  `ps`), a remote URL, a repository's config or a message — git's stderr is scrubbed of every
  form of the token before it goes into a `GitError`;
- each command runs in its own process group with a timeout; when the time is up (or the
  caller is cancelled) the whole group is killed, helpers such as git-remote-http included.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

GIT = "git"
TOKEN_USER = "x-access-token"  # GitHub's convention; GitLab accepts any user, Bitbucket wants x-token-auth
DEFAULT_TIMEOUT_S = 300.0  # purely local work; network commands pass their own

# `-c` settings for every command: nothing the repository, its config or the host's config sets
# up may make git execute a program, and output is plain and machine-readable.
HARDENED_CONFIG: tuple[str, ...] = (
    "core.hooksPath=/dev/null",  # no hook runs, wherever it is configured
    "core.fsmonitor=false",  # an fsmonitor is a program git would start
    "core.quotePath=false",  # paths printed verbatim, not C-quoted
    "submodule.recurse=false",  # a submodule is another repository, fetched from anywhere
    "diff.external=",  # no external diff program
    "color.ui=never",
    "commit.gpgsign=false",  # never call gpg (it may prompt, or be any program)
    "grep.fallbackToNoIndex=false",  # git grep outside a repository fails instead of searching the disk
    "advice.detachedHead=false",
)

# Inherited GIT_* variables that are kept: where to find the CA certificates of a self-hosted
# forge. They cannot redirect git to another repository or make it run anything.
KEPT_GIT_VARS = frozenset({"GIT_SSL_CAINFO", "GIT_SSL_CAPATH"})

BASE_ENV: Mapping[str, str] = {
    "GIT_TERMINAL_PROMPT": "0",  # a missing or wrong token must fail, not hang on a prompt
    # Empty GIT_ASKPASS makes git skip every askpass program (SSH_ASKPASS, core.askPass too).
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GIT_OPTIONAL_LOCKS": "0",  # reading commands never write the index behind a job's back
    "GIT_LFS_SKIP_SMUDGE": "1",  # LFS would download (and run a filter) during checkout
    "LC_ALL": "C",  # messages in English: callers and people read them
    "LANGUAGE": "C",
}


class GitError(Exception):
    """A git command failed, timed out or could not start.

    `command` is git's subcommand ("fetch", "push"); `stderr` what git printed on stderr (or on
    stdout when stderr was empty), already scrubbed of the command's secrets; `returncode` is
    None when git never finished (timed out, or could not be started).
    """

    def __init__(self, command: str, stderr: str = "", returncode: int | None = None,
                 timeout: float | None = None) -> None:
        self.command = command
        self.stderr = stderr
        self.returncode = returncode
        self.timeout = timeout
        super().__init__(str(self))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.command, self.stderr, self.returncode, self.timeout))

    @property
    def timed_out(self) -> bool:
        return self.timeout is not None

    @property
    def summary(self) -> str:
        """Why it failed, on one line: git's last lines, or how it ended (str() has all of stderr)."""
        if self.timeout is not None:
            return f"timed out after {self.timeout:g}s and was stopped"
        lines = [ln.strip() for ln in self.stderr.splitlines() if ln.strip()]
        return " / ".join(lines[-6:]) or f"exit status {self.returncode}"

    def __str__(self) -> str:
        if self.timeout is not None:
            return f"git {self.command} {self.summary}"
        return f"git {self.command} failed: {self.stderr.strip() or f'exit status {self.returncode}'}"


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: bytes
    stderr: str  # scrubbed

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# URLs, tokens, pathspecs


def is_local_url(url: str) -> bool:
    """True for a filesystem path or file:// URL (never for http(s), ssh or scp-like URLs)."""
    if url.startswith("file://"):
        return True
    if "://" in url:
        return False
    # git reads "host:path" (a colon before any slash) as scp-like ssh, so that is not local.
    first_slash = url.find("/")
    colon = url.find(":")
    return colon == -1 or (first_slash != -1 and first_slash < colon)


def split_credentials(url: str) -> tuple[str, str | None]:
    """Strip `user:secret@` from an http(s) URL; return (clean url, secret or None).

    Operators sometimes paste a token-bearing URL; the secret must not be stored in a remote
    URL, so it is lifted out and used like a token argument instead.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    secret = password or user or None
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), secret


def redact_url(url: str) -> str:
    return split_credentials(url)[0]


def normalize_clone_url(url: str) -> str:
    """Local paths become absolute (git runs with other working directories); others unchanged."""
    if is_local_url(url) and not url.startswith("file://"):
        return str(Path(url).expanduser().resolve())
    return url


# The "user" that makes git send `Authorization: Bearer <token>` instead of Basic (Bitbucket Data
# Center's project and repository tokens accept nothing else). A colon cannot be in a Basic user.
BEARER_USER = ":bearer"


def _auth_header(token: str, user: str) -> str:
    if user == BEARER_USER:
        return f"Authorization: Bearer {token}"
    return "Authorization: Basic " + base64.b64encode(f"{user}:{token}".encode()).decode("ascii")


def auth_env(clone_url: str, token: str | None, *, user: str = TOKEN_USER) -> dict[str, str]:
    """Environment that makes git send the token to the clone URL's origin only.

    GIT_CONFIG_COUNT/KEY/VALUE act like `-c` without appearing in the process's argv, and the
    header is scoped to `http.<scheme>://<host>/` so a redirect to another host never gets it.
    """
    if not token:
        return {}
    parts = urlsplit(clone_url)
    if parts.scheme not in ("http", "https"):
        return {}
    origin = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/"
    return {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": f"http.{origin}.extraHeader",
        "GIT_CONFIG_VALUE_0": _auth_header(token, user),
        # The token is the only credential: never consult or feed the host's credential helpers.
        "GIT_CONFIG_KEY_1": "credential.helper",
        "GIT_CONFIG_VALUE_1": "",
    }


def secrets_of(token: str | None, *, user: str = TOKEN_USER) -> tuple[str, ...]:
    """Every form in which a token could leak into git's output."""
    if not token:
        return ()
    header = _auth_header(token, user)
    return (token, header.split(" ", 2)[-1], f"{user}:{token}")


def tls_config(ca_bundle: str | None = None, *, verify: bool = True) -> tuple[str, ...]:
    """`-c` settings for a forge behind an internal CA: trust `ca_bundle` (a PEM file) instead
    of the system store, or (the loudly warned escape hatch) verify nothing. A path is no
    secret, so it may sit in argv."""
    if not verify:
        return ("http.sslVerify=false",)
    return (f"http.sslCAInfo={ca_bundle}",) if ca_bundle else ()


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def literal(path: str) -> str:
    """A pathspec that means exactly `path`: a file named like a pathspec (":(glob)**", "*.py")
    is just a file name."""
    return f":(literal){path}"


@dataclass(frozen=True)
class Remote:
    """The repository a command talks to, and how to authenticate to it."""

    url: str  # normalised and credential-free: safe to show, log and store
    env: Mapping[str, str] = field(default_factory=dict)  # GIT_CONFIG_* carrying the token
    secrets: tuple[str, ...] = ()  # every form of the token, scrubbed from git's output
    config: tuple[str, ...] = ()  # `-c` settings for talking to it (TLS trust: see tls_config)

    @classmethod
    def of(cls, clone_url: str, token: str | None = None, *, user: str = TOKEN_USER,
           config: tuple[str, ...] = ()) -> Remote:
        """A token pasted into the URL is lifted out and used like `token` (which wins)."""
        url, embedded = split_credentials(clone_url)
        token = token or embedded
        url = normalize_clone_url(url)
        secrets = (*secrets_of(token, user=user), *((embedded,) if embedded else ()))
        return cls(url=url, env=auth_env(url, token, user=user), secrets=secrets, config=config)

    @property
    def is_local(self) -> bool:
        return is_local_url(self.url)


# --------------------------------------------------------------------------------------------
# running git


def _command_name(args: Iterable[str]) -> str:
    """git's subcommand in `args` (skipping global options such as `-c k=v`)."""
    it = iter(args)
    for arg in it:
        if arg in ("-c", "-C", "--git-dir", "--work-tree"):
            next(it, None)
        elif not arg.startswith("-"):
            return arg
    return "git"


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


@dataclass(frozen=True)
class Git:
    """How to run git in one place: a worktree (`cwd`) and/or a repository (`git_dir`),
    optionally talking to one `remote`, with extra `config` ("key=value", e.g. an identity)."""

    cwd: Path | None = None
    git_dir: Path | None = None
    remote: Remote | None = None
    config: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT_S

    def argv(self, *args: str) -> list[str]:
        """The full command line; it never holds a secret, so it is safe to log."""
        remote_config = self.remote.config if self.remote is not None else ()
        settings = [*self.config, *remote_config, *HARDENED_CONFIG]  # hardening last: a later -c wins
        if self.remote is not None and self.remote.is_local:
            settings.append("protocol.file.allow=always")
        cmd = [GIT]
        for setting in settings:
            cmd += ["-c", setting]
        if self.git_dir is not None:
            cmd += ["--git-dir", str(self.git_dir)]
        return [*cmd, *args]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in KEPT_GIT_VARS}
        env.update(BASE_ENV)
        if self.remote is not None:
            if self.remote.config:
                # The forge's own trust settings (`-c http.sslCAInfo`, see tls_config) must win,
                # and git lets GIT_SSL_CAINFO/CAPATH from the environment override config.
                for name in KEPT_GIT_VARS:
                    env.pop(name, None)
            env.update(self.remote.env)
        return env

    def scrub(self, text: str) -> str:
        return scrub(text, self.remote.secrets) if self.remote is not None else text

    # ---- sync --------------------------------------------------------------------------------

    def run(self, *args: str, ok: Collection[int] | None = (0,), input: bytes | None = None,
            timeout: float | None = None) -> GitResult:
        """Run git to completion. Raises GitError when the exit status is not in `ok` (None:
        any status is returned), on timeout, or when git cannot be started."""
        timeout = self.timeout if timeout is None else timeout
        argv = self.argv(*args)
        try:
            proc = subprocess.Popen(
                argv, cwd=self.cwd, env=self.env(),
                stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group, killed as a whole
            )
        except OSError as exc:
            raise self._not_started(args, exc) from None
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.communicate()
            raise GitError(_command_name(args), returncode=None, timeout=timeout) from None
        except BaseException:
            _kill_group(proc.pid)
            proc.wait()
            raise
        return self._result(args, proc.returncode, out, err, ok)

    # ---- async -------------------------------------------------------------------------------

    async def arun(self, *args: str, ok: Collection[int] | None = (0,), input: bytes | None = None,
                   timeout: float | None = None) -> GitResult:
        """`run` for the event loop; cancelling it kills git."""
        timeout = self.timeout if timeout is None else timeout
        async with self.spawn(*args, stdin=input is not None) as proc:
            try:
                out, err = await asyncio.wait_for(proc.communicate(input), timeout)
            except TimeoutError:
                raise GitError(_command_name(args), returncode=None, timeout=timeout) from None
            assert proc.returncode is not None
            return self._result(args, proc.returncode, out, err, ok)

    @contextlib.asynccontextmanager
    async def spawn(self, *args: str, stdin: bool = False) -> AsyncIterator[asyncio.subprocess.Process]:
        """Start git with stdout and stderr piped, for output read as it comes; the process group
        is killed if git is still running when the block exits (timeout, error, cancellation).
        The caller reads the pipes; what it shows of stderr should go through `scrub`."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv(*args), cwd=self.cwd, env=self.env(),
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise self._not_started(args, exc) from None
        try:
            yield proc
        finally:
            if proc.returncode is None:
                _kill_group(proc.pid)
                await proc.wait()

    # ---- helpers -----------------------------------------------------------------------------

    def _result(self, args: tuple[str, ...], code: int, out: bytes, err: bytes,
                ok: Collection[int] | None) -> GitResult:
        stderr = self.scrub(err.decode("utf-8", "replace"))
        if ok is not None and code not in ok:
            detail = stderr if stderr.strip() else self.scrub(out.decode("utf-8", "replace"))
            raise GitError(_command_name(args), detail, returncode=code)
        return GitResult(code, out, stderr)

    def _not_started(self, args: tuple[str, ...], exc: OSError) -> GitError:
        if isinstance(exc, FileNotFoundError) and exc.filename in (GIT, None):
            why = "git is not installed or not on PATH"
        else:
            why = f"cannot run git in {self.cwd}: {exc.strerror or exc}"
        return GitError(_command_name(args), self.scrub(why), returncode=None)


__all__ = [
    "BASE_ENV",
    "BEARER_USER",
    "DEFAULT_TIMEOUT_S",
    "HARDENED_CONFIG",
    "KEPT_GIT_VARS",
    "TOKEN_USER",
    "Git",
    "GitError",
    "GitResult",
    "Remote",
    "auth_env",
    "is_local_url",
    "literal",
    "normalize_clone_url",
    "redact_url",
    "scrub",
    "secrets_of",
    "split_credentials",
    "tls_config",
]
