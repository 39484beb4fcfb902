"""Argument models → JSON Schema, in the one form every consumer gets (agent, MCP, the hash).

Some OpenAI-compatible servers (Ollama, vLLM grammars) mishandle `$ref`, titles like "Start
Line" are noise the model pays tokens for, and `"type": "integer", "default": null` contradicts
itself for strict validators; none of them changes what is valid, so all are dropped here.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel


def args_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a tool's argument model, cleaned as described above."""
    return clean_schema(model.model_json_schema())


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline `$defs` references, drop pydantic's auto-generated titles and null defaults."""
    schema = copy.deepcopy(schema)
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                # Keep siblings of $ref (e.g. a field's description) over the definition's own.
                target = walk(copy.deepcopy(defs[ref.removeprefix("#/$defs/")]))
                return {**target, **{k: walk(v) for k, v in node.items() if k != "$ref"}}
            out: dict[str, Any] = {}
            node = _collapse_optional(node)
            for key, value in node.items():
                # Only string titles are annotations; a *property* named "title" is a dict.
                if key == "title" and isinstance(value, str):
                    continue
                out[key] = walk(value) if key != "properties" else {k: walk(v) for k, v in value.items()}
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    cleaned = walk(schema)
    cleaned.setdefault("type", "object")
    cleaned.setdefault("properties", {})
    return cleaned


def _collapse_optional(node: dict[str, Any]) -> dict[str, Any]:
    """`{"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null}` → `{"type": "integer"}`:
    the field is already optional by not being required, and the shorter form reads better."""
    options = node.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return node
    (other,) = [o for o in options if o != {"type": "null"}]
    merged = {k: v for k, v in node.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**other, **merged}
