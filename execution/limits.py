"""Resource limits of one sandboxed run: rlimits, and the cgroups that bind where rlimits do not.

The service runs as root in most containers, where RLIMIT_NPROC does not apply and RLIMIT_AS
breaks runtimes that reserve large address ranges (V8). So processes and memory are limited by
cgroup v1 controllers when this process may create child groups in them (`pids` with
`pids.max`, `memory` with `memory.limit_in_bytes`), and by rlimits otherwise. The child joins its
groups before it execs (`Limits.preexec`), so nothing it forks escapes them. `Limits.describe`
says which mechanism each limit used, for the run's report.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import resource
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
FILE_SIZE_BYTES = 1024 * 1024 * 1024  # one file a test writes (RLIMIT_FSIZE)
_counter = itertools.count()


@dataclass(frozen=True)
class LimitSpec:
    seconds: float  # wall time; RLIMIT_CPU is set from it as well
    memory_mb: int
    max_processes: int
    max_output_bytes: int


@dataclass
class CGroup:
    """A child group this process made in one v1 controller; removed by `close`."""

    path: Path

    @classmethod
    def create(cls, controller: str, settings: dict[str, str]) -> CGroup | None:
        parent = _own_group(controller)
        if parent is None:
            return None
        path = parent / f"autofixer-{os.getpid()}-{next(_counter)}"
        try:
            path.mkdir()
        except OSError:
            return None
        group = cls(path)
        try:
            for name, value in settings.items():
                (path / name).write_text(value)
        except OSError:
            group.close()
            return None
        return group

    def read(self, name: str) -> str:
        try:
            return (self.path / name).read_text()
        except OSError:
            return ""

    def counter(self, name: str, key: str) -> int:
        """A `key value` line of a flat-keyed file (pids.events, memory.oom_control)."""
        for line in self.read(name).splitlines():
            k, _, v = line.partition(" ")
            if k == key and v.strip().isdigit():
                return int(v)
        return 0

    def kill_all(self) -> None:
        """SIGKILL whatever is still in the group (a process that left the sandbox's session)."""
        for _ in _polls():
            pids = [int(p) for p in self.read("cgroup.procs").split() if p.isdigit()]
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        self.kill_all()
        for _ in _polls():
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:  # busy for a moment while the killed processes are reaped
                pass


def _polls(seconds: float = 2.0) -> Iterator[None]:
    """Short, then longer waits: the sandbox's processes are usually gone within a millisecond
    of bwrap's exit, and a run should not pay a fixed sleep for the rare slow reap."""
    deadline = time.monotonic() + seconds
    delay = 0.0005
    while True:
        yield
        if time.monotonic() > deadline:
            return
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _own_group(controller: str) -> Path | None:
    """This process's group in a v1 controller, when it is mounted and writable."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            group = CGROUP_ROOT / controller / path.lstrip("/")
            if (group / "cgroup.procs").exists() and os.access(group, os.W_OK):
                return group
    return None


@dataclass
class Limits:
    """The limits of one run, set up before it starts and torn down after (`close`)."""

    spec: LimitSpec
    pids: CGroup | None = None
    memory: CGroup | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, spec: LimitSpec) -> Limits:
        memory_bytes = str(spec.memory_mb * 1024 * 1024)
        limits = cls(spec, pids=CGroup.create("pids", {"pids.max": str(spec.max_processes)}))
        memory = CGroup.create("memory", {"memory.limit_in_bytes": memory_bytes})
        if memory is not None and (memory.path / "memory.memsw.limit_in_bytes").exists():
            # Without it the group swaps instead of hitting its limit.
            with contextlib.suppress(OSError):
                (memory.path / "memory.memsw.limit_in_bytes").write_text(memory_bytes)
        limits.memory = memory
        return limits

    def preexec(self) -> Callable[[], None]:
        """What the child runs between fork and exec: join the groups, set the rlimits."""
        procs = [g.path / "cgroup.procs" for g in (self.pids, self.memory) if g is not None]
        spec, use_as, use_nproc = self.spec, self.memory is None, self.pids is None
        cpu = int(spec.seconds) + 5

        def apply() -> None:
            for path in procs:
                with open(path, "w") as f:
                    f.write(str(os.getpid()))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_BYTES, FILE_SIZE_BYTES))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if use_as:
                memory = spec.memory_mb * 1024 * 1024
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            if use_nproc:
                resource.setrlimit(resource.RLIMIT_NPROC, (spec.max_processes, spec.max_processes))

        return apply

    def hit(self) -> str | None:
        """The limit the run ran into, as far as the groups recorded it."""
        if self.memory is not None and (self.memory.counter("memory.oom_control", "oom_kill")
                                        or self.memory.counter("memory.oom_control", "under_oom")):
            return "memory"
        if self.pids is not None and self.pids.counter("pids.events", "max"):
            return "processes"
        return None

    def describe(self) -> str:
        processes = "pids cgroup" if self.pids else "RLIMIT_NPROC (does not bind root)"
        memory = "memory cgroup" if self.memory else "RLIMIT_AS"
        return (f"limits: {self.spec.seconds:.0f} s wall, {self.spec.memory_mb} MB ({memory}), "
                f"{self.spec.max_processes} processes ({processes}), {self.spec.max_output_bytes:,} output bytes")

    def kill_all(self) -> None:
        for group in (self.pids, self.memory):
            if group is not None:
                group.kill_all()

    def close(self) -> None:
        for group in (self.pids, self.memory):
            if group is not None:
                group.close()
