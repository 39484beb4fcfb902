"""Reading the outbox and encoding events in the partner's wire format (see README)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from relay.events import Event, parse_event

Transport = Callable[[bytes], None]


def encode(event: Event) -> bytes:
    """The partner's wire format: `{"type": ..., "data": {...}}`."""
    return json.dumps({"type": event.TYPE, "data": event.dict()}, separators=(",", ":")).encode()


def read_outbox(path: Path) -> Iterator[Event]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield parse_event(json.loads(line))
        except ValueError as exc:
            raise ValueError(f"{path.name} line {number}: {exc}") from exc


def flush(path: Path, send: Transport) -> int:
    """Send every event of the outbox, then empty it; the number sent."""
    if not path.exists():
        return 0
    sent = 0
    for event in read_outbox(path):
        send(encode(event))
        sent += 1
    path.write_text("", encoding="utf-8")
    return sent
