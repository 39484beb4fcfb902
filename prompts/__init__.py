"""The prompts, as text files next to this module, and their version.

Prompts are data, not code: they change often and every change must be measurable, so each
transcript and eval report records a prompt version, a short hash over the contents of all
prompt files and of the other text a model reads that lives in code (the tool declarations, the
agent loop's nudges). That version is `agent.loop.prompt_version()`, which knows those texts;
`digest` here is the hash it is made with. Same text, same version, whichever machine runs it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
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


def digest(texts: Mapping[str, str] | None = None, directory: Path | None = None) -> str:
    """Short sha256 over every prompt file's name and contents (names too: a renamed template
    is a different prompt set), then over each named text of `texts`, in order."""
    sha = hashlib.sha256()
    named = [(path.name, path.read_bytes()) for path in prompt_files(directory)]
    named += [(f"<{name}>", text.encode()) for name, text in (texts or {}).items()]
    for name, data in named:
        sha.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return sha.hexdigest()[:VERSION_LENGTH]
