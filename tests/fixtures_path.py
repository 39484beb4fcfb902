"""Where the shared, read-only fixtures live (real payloads copied from public repositories)."""

from __future__ import annotations

import os
from pathlib import Path


def shared_dir() -> Path:
    """`../shared` next to the repository, unless AUTOFIXER_SHARED_DIR points elsewhere."""
    override = os.environ.get("AUTOFIXER_SHARED_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "shared"
