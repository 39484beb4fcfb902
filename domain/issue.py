"""An issue (a group of identical errors) as any error tracker lists it."""

from __future__ import annotations

from pydantic import BaseModel


class Issue(BaseModel):
    id: str  # the tracker's own id, as job ids and URLs use it
    short_id: str | None = None  # a human handle, e.g. Sentry's SHOP-12
    title: str = ""
    culprit: str | None = None
    project: str | None = None  # the tracker's project name, matched against projects[].source-project
    status: str | None = None
    level: str | None = None
    count: int | None = None  # events
    user_count: int | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    url: str | None = None  # the issue's page in the tracker's web UI
