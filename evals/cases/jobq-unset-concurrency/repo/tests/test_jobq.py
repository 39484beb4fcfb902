import pytest

from jobq.cli import THUMBNAILS, main
from jobq.pool import WorkerPool
from jobq.queue import Job, JobQueue
from jobq.settings import SettingsError, env_int, load_settings


def test_env_int() -> None:
    assert env_int({"N": " 7 "}, "N") == 7
    assert env_int({"N": ""}, "N", 3) == 3
    with pytest.raises(SettingsError):
        env_int({"N": "seven"}, "N")


def test_explicit_settings() -> None:
    settings = load_settings({"JOBQ_QUEUE": "avatars", "JOBQ_CONCURRENCY": "8", "JOBQ_MAX_ATTEMPTS": "5",
                              "JOBQ_POLL_SECONDS": "0.5"})
    assert (settings.queue, settings.concurrency, settings.max_attempts, settings.poll_seconds) == ("avatars", 8, 5, 0.5)


def test_failing_jobs_are_retried_then_dead_lettered() -> None:
    jobs = JobQueue("q")
    pool = WorkerPool(jobs, lambda payload: 1 / 0, size=2, max_attempts=2, poll_seconds=0.01)
    jobs.put(Job("j1", {}))
    pool.start()
    jobs.join()
    pool.stop()
    assert [j.id for j in jobs.dead] == ["j1"] and jobs.dead[0].attempts == 2


def test_worker_drains_backlog_with_configured_concurrency() -> None:
    THUMBNAILS.clear()
    env = {"JOBQ_CONCURRENCY": "2", "JOBQ_POLL_SECONDS": "0.01"}
    assert main(["--once"], env=env, backlog=[Job("1", {"image": "a.jpg"}), Job("2", {"image": "b.jpg", "size": 64})]) == 0
    assert sorted(THUMBNAILS) == ["a.jpg@256", "b.jpg@64"]


def test_worker_starts_with_the_documented_defaults() -> None:
    """The Helm chart only sets what differs from the README's defaults."""
    THUMBNAILS.clear()
    assert main(["--once"], env={"JOBQ_POLL_SECONDS": "0.01"}, backlog=[Job("1", {"image": "c.jpg"})]) == 0
    assert THUMBNAILS == ["c.jpg@256"]
    defaults = load_settings({})
    assert (defaults.queue, defaults.concurrency, defaults.max_attempts, defaults.poll_seconds) == ("thumbnails", 4, 3, 2.0)
