"""The prompts, as text files next to this module, and their version.

Prompts are data, not code: they change often and every change must be measurable, so each
transcript and eval report records `prompt_version()`, a short hash over the contents of all
prompt files. Same text, same version, whichever machine runs it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent
PROMPT_SUFFIXES = (".md", ".txt")
VERSION_LENGTH = 12


def load(name: str, directory: Path | None = None) -> str:
    """The text of prompt file `name` (e.g. "system.md")."""
    base = directory or PROMPTS_DIR
    path = (base / name).resolve()
    if path.parent != base.resolve() or path.suffix not in PROMPT_SUFFIXES:
        raise ValueError(f"not a prompt file: {name!r}")
    return path.read_text(encoding="utf-8")


def prompt_files(directory: Path | None = None) -> list[Path]:
    base = directory or PROMPTS_DIR
    return sorted(p for p in base.iterdir() if p.is_file() and p.suffix in PROMPT_SUFFIXES)


def prompt_version(directory: Path | None = None) -> str:
    """Short sha256 over every prompt file's name and contents (names too: a renamed template
    is a different prompt set)."""
    digest = hashlib.sha256()
    for path in prompt_files(directory):
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()[:VERSION_LENGTH]
