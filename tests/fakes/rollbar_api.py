"""A fake Rollbar read API (Quart app): items, their occurrences and the item list, for tests only.

Fed by the real recordings in shared/fixtures/apis/real/rollbar/: the items of the livesup
`GET /api/1/items` recording, and the items and occurrences the recorded webhooks carry (a PHP
`trace`, pyrollbar messages). Answers are wrapped `{"err": 0, "result": …}`; a missing or wrong
`X-Rollbar-Access-Token` is `{"err": 1, "message": "invalid access token"}`.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quart import Quart, Response, request

from tests.fixtures_path import shared_dir

WEBHOOK_FILES = ["telegraf__webhook-payloads_new_item_occurrence_deploy.json",
                 "zulip__webhook-payloads_exp_repeat_item_reactivated_item_item_velocity_occurrence.json"]
LIST_FILE = "livesup__api-list-items_200_and_error-body.json"
PAGE_SIZE = 100


def load(name: str) -> Any:
    return json.loads((shared_dir() / "fixtures" / "apis" / "real" / "rollbar" / name).read_text())


def webhooks() -> dict[str, dict[str, Any]]:
    """The recorded deliveries by name: `<event_name>` or `<event_name>-2` for a second one."""
    found: dict[str, dict[str, Any]] = {}
    for name in WEBHOOK_FILES:
        for delivery in load(name):
            key = delivery["event_name"]
            found[key if key not in found else f"{key}-2"] = delivery
    return found


@dataclass
class FakeRollbar:
    token: str
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    occurrences: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # newest first
    _failures: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))

    def __post_init__(self) -> None:
        for delivery in webhooks().values():
            item = copy.deepcopy((delivery.get("data") or {}).get("item"))
            if not item:
                continue
            occurrence = delivery["data"].get("occurrence") or item.pop("last_occurrence", None)
            self.items.setdefault(str(item["id"]), item)
            if occurrence:
                self.add_occurrence(str(item["id"]), occurrence)
        for item in load(LIST_FILE)[0]["response"]["body"]["result"]["items"]:
            self.items.setdefault(str(item["id"]), copy.deepcopy(item))
        self.app = self._build()

    def add_occurrence(self, item_id: str, data: dict[str, Any]) -> None:
        """As the API serves it: an "instance" wrapping what the SDK sent."""
        instance = {"id": int(data.get("timestamp") or 0) * 10 + len(self.occurrences.get(item_id, [])),
                    "item_id": int(item_id), "timestamp": data.get("timestamp"), "version": 2, "data": data}
        self.occurrences.setdefault(item_id, []).insert(0, instance)

    def fail_next(self, item_id: str, *statuses: int) -> None:
        self._failures[item_id].extend(statuses)

    def _build(self) -> Quart:
        app = Quart(__name__)

        @app.get("/api/1/item/<item_id>")
        async def item(item_id: str) -> Response:
            if (denied := self._check(item_id)) is not None:
                return denied
            found = self.items.get(item_id)
            return _ok(found) if found else _err(404, "Item not found")

        @app.get("/api/1/item/<item_id>/instances")
        async def instances(item_id: str) -> Response:
            if (denied := self._check(item_id)) is not None:
                return denied
            if item_id not in self.items:
                return _err(404, "Item not found")
            page = int(request.args.get("page", "1"))
            found = self.occurrences.get(item_id, [])[(page - 1) * 20: page * 20]
            return _ok({"instances": found, "page": page})

        @app.get("/api/1/items")
        async def items() -> Response:
            if (denied := self._check("list")) is not None:
                return denied
            status = request.args.get("status")
            found = [i for i in self.items.values() if status is None or _status(i) == status]
            if env := request.args.get("environment"):
                found = [i for i in found if i.get("environment") == env]
            found.sort(key=lambda i: -(i.get("last_occurrence_timestamp") or 0))
            page = int(request.args.get("page", "1"))
            return _ok({"items": found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], "page": page,
                        "total_count": len(found)})

        return app

    def _check(self, key: str) -> Response | None:
        if request.headers.get("X-Rollbar-Access-Token") != self.token:
            return _err(401, "invalid access token")
        if queue := self._failures.get(key):
            status = queue.popleft()
            if status >= 500:
                return Response("<html><body>502 Bad Gateway</body></html>", status, content_type="text/html")
            return _err(status, "rate limited" if status == 429 else "error")
        return None


def _status(item: dict[str, Any]) -> str:
    status = item.get("status")
    return {1: "active", 2: "resolved", 3: "muted"}.get(status, str(status)) if isinstance(status, int) else str(status)


def _ok(result: Any) -> Response:
    return Response(json.dumps({"err": 0, "result": result}), 200, content_type="application/json")


def _err(status: int, message: str) -> Response:
    return Response(json.dumps({"err": 1, "message": message}), status, content_type="application/json")


# What pyrollbar 1.5.0 sent for a chained ValueError (from a KeyError) in a small shop module,
# captured here by pointing the SDK at a local endpoint (`metadata` removed): a real `trace_chain`.
PYROLLBAR_OCCURRENCE = Path(__file__).with_name("rollbar_pyrollbar_occurrence.json")


def add_pyrollbar_item(fake: FakeRollbar, item_id: str, *, environment: str = "production",
                       total: int = 12) -> dict[str, Any]:
    """An item for the captured pyrollbar occurrence, shaped like the recorded items."""
    data = json.loads(PYROLLBAR_OCCURRENCE.read_text())
    data["environment"] = environment
    item = copy.deepcopy(fake.items["402860571"])
    item.update(id=int(item_id), title="ValueError: unknown sku in cart: 'b'", environment=environment,
                total_occurrences=total, counter=int(item_id) % 1000, last_occurrence_timestamp=data["timestamp"],
                status="active")
    fake.items[item_id] = item
    fake.add_occurrence(item_id, data)
    return item
