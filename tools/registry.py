"""The one list of tools, and its renderings for each LLM API.

The agent, the MCP server and the evals all take their tools from here, so a tool's name,
description and argument schema are the same wherever the model meets it. The order is fixed
(it is part of the prompt, and prompt caching keys on it).
"""

from __future__ import annotations

import copy
from typing import Any

from tools.base import Tool
from tools.files import ListFiles, ReadFile, SearchRepo
from tools.patch import ProposePatch, SubmitFix
from tools.stacktrace import GetStacktrace

ALL_TOOLS: list[Tool] = [GetStacktrace(), ReadFile(), SearchRepo(), ListFiles(), ProposePatch(), SubmitFix()]


def tool_map() -> dict[str, Tool]:
    return {tool.name: tool for tool in ALL_TOOLS}


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline `$defs` references and drop pydantic's auto-generated titles.

    Some OpenAI-compatible servers (Ollama, vLLM grammars) mishandle `$ref`, and titles like
    "Start Line" are noise the model pays tokens for; neither changes what is valid.
    """
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
    merged = {k: v for k, v in node.items() if k != "anyOf"}
    return {**other, **merged}


def tool_schema(tool: Tool) -> dict[str, Any]:
    return clean_schema(tool.input_schema())


def anthropic_tools(tools: list[Tool] | None = None) -> list[dict[str, Any]]:
    return [
        {"name": t.name, "description": t.description, "input_schema": tool_schema(t)}
        for t in (ALL_TOOLS if tools is None else tools)
    ]


def openai_tools(tools: list[Tool] | None = None) -> list[dict[str, Any]]:
    return [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": tool_schema(t)}}
        for t in (ALL_TOOLS if tools is None else tools)
    ]
