"""The API event's `release`: the release object Sentry auto-creates when an event first names
a version (no commits, no deploys), which only a Sentry server could know."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from evals.recording.ingest_fields import iso


def release_object(
    version: str | None,
    event: Mapping[str, Any],
    project_id: str | int,
    project_slug: str | None,
    first_event: datetime,
    received: datetime,
) -> dict[str, Any] | None:
    """A release as Sentry auto-creates it when an event first names it: no commits, no deploys."""
    if not version:
        return None
    package, _, bare = version.rpartition("@")
    slug = project_slug or str(project_id)
    return {
        "id": int(hashlib.sha1(f"{project_id}:{version}".encode()).hexdigest()[:8], 16),
        "version": version,
        "status": "open",
        "shortVersion": bare,
        "versionInfo": _version_info(package, bare),
        "ref": None,
        "url": None,
        "dateReleased": None,
        "dateCreated": iso(received, micro=True),
        "data": {},
        "newGroups": 1,
        "owner": None,
        "commitCount": 0,
        "lastCommit": None,
        "deployCount": 0,
        "lastDeploy": None,
        "authors": [],
        "projects": [{
            "id": int(project_id) if str(project_id).isdigit() else project_id,
            "slug": slug, "name": slug, "newGroups": 1,
            "platform": event.get("platform") or "", "platforms": [event.get("platform") or "other"],
            "hasHealthData": False,
        }],
        "firstEvent": iso(first_event, micro=False),
        "lastEvent": iso(first_event, micro=False),
        "currentProjectMeta": {},
        "userAgent": None,
    }


def _version_info(package: str, bare: str) -> dict[str, Any]:
    """Sentry's reading of a version (`bare`, after the `package@`): its semver parts when it is
    `X.Y.Z` (with any -pre/+build suffix), else a build hash when it looks like a commit SHA."""
    numbers = bare.split("+", 1)[0].split("-", 1)[0].split(".")
    if len(numbers) == 3 and all(n.isdigit() for n in numbers):
        return {
            "package": package or None,
            "version": {
                "raw": bare, "major": int(numbers[0]), "minor": int(numbers[1]), "patch": int(numbers[2]),
                "pre": None, "buildCode": None, "components": 3,
            },
            "description": bare,
            "buildHash": None,
        }
    is_sha = len(bare) in (40, 64) and all(c in "0123456789abcdef" for c in bare.lower())
    return {
        "package": package or None,
        "version": {"raw": bare},
        "description": bare[:12] if is_sha else bare,
        "buildHash": bare if is_sha else None,
    }
