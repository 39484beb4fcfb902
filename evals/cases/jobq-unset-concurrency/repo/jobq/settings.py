"""Settings from the environment (12-factor: the Helm chart sets only what differs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class SettingsError(ValueError):
    pass


def env_int(env: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    """The variable as an int; unset or empty means `default`."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    queue: str
    concurrency: int
    max_attempts: int
    poll_seconds: float


def load_settings(env: Mapping[str, str]) -> Settings:
    """Settings with the documented defaults (README) for anything the environment leaves out."""
    return Settings(
        queue=env.get("JOBQ_QUEUE", "").strip() or "thumbnails",
        concurrency=env_int(env, "JOBQ_CONCURRENCY"),
        max_attempts=env_int(env, "JOBQ_MAX_ATTEMPTS", 3),
        poll_seconds=env_float(env, "JOBQ_POLL_SECONDS", 2.0),
    )
