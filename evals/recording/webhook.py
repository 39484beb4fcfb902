"""The issue webhook that announces a recorded event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def issue_webhook(
    api_event: Mapping[str, Any],
    *,
    project_slug: str,
    org_slug: str = "acme",
    base_url: str = "https://sentry.example.invalid",
    installation_uuid: str = "7a1c53b4-29b0-4e5d-9b61-3c2f0e8d4a17",
    short_id_number: int = 1,
) -> dict[str, Any]:
    """An integration-platform `issue` webhook body (`action: created`) for the event's issue,
    with `data.issue` in the GroupSerializer shape Sentry sends (plus url/web_url/project_url)."""
    issue_id = str(api_event["groupID"])
    seen = api_event.get("dateReceived") or api_event.get("dateCreated")
    metadata = {k: v for k, v in (api_event.get("metadata") or {}).items()
                if k in ("filename", "function", "type", "value")}
    tags = {t["key"]: t["value"] for t in api_event.get("tags") or []}
    return {
        "action": "created",
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "issue": {
                "annotations": [],
                "assignedTo": None,
                "count": "1",
                "culprit": api_event.get("culprit"),
                "firstSeen": seen,
                "hasSeen": False,
                "id": issue_id,
                "isBookmarked": False,
                "isPublic": False,
                "isSubscribed": False,
                "issueCategory": "error",
                "issueType": "error",
                "lastSeen": seen,
                "level": tags.get("level", "error"),
                "logger": None,
                "metadata": metadata,
                "numComments": 0,
                "permalink": None,
                "platform": api_event.get("platform"),
                "priority": "high",
                "project": {
                    "id": str(api_event.get("projectID")),
                    "name": project_slug,
                    "platform": api_event.get("platform") or "",
                    "slug": project_slug,
                },
                "shareId": None,
                "shortId": f"{project_slug.upper()}-{short_id_number}",
                "status": "unresolved",
                "statusDetails": {},
                "subscriptionDetails": None,
                "substatus": "new",
                "title": api_event.get("title"),
                "type": "error",
                "userCount": 1 if api_event.get("user") else 0,
                "url": f"{base_url}/api/0/organizations/{org_slug}/issues/{issue_id}/",
                "web_url": f"{base_url}/organizations/{org_slug}/issues/{issue_id}/",
                "project_url": f"{base_url}/organizations/{org_slug}/issues/?project={api_event.get('projectID')}",
            }
        },
        "installation": {"uuid": installation_uuid},
    }
