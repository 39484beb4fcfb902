"""Weak and small models, whatever the provider: tool calls written as text, malformed JSON
arguments, and models without tool calling at all.

- `repair_arguments`: the common ways a model breaks a JSON object (a Markdown fence around it,
  trailing commas, single quotes, Python literals True/False/None) are repaired; anything else
  stays a string and the loop answers it as a malformed call.
- `calls_from_text`: a model that answers a tool call as prose (`{"name": "read_file",
  "arguments": {...}}`, fenced or not) gets it read as a call, but only for tools that exist.
- json mode (`llm.tool-calling: json`, for models without tool calling): the tools are described
  in the system prompt, the model answers with one JSON object per turn, and earlier calls and
  results are rendered back as text. `calls_from_text` reads the answer; `submit_fix`'s own
  schema validates the final answer (the seed's structured-JSON answer, parsed and validated).
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from agent.provider import ToolCall

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_NAME_KEYS = ("name", "tool", "function", "tool_name")
_ARG_KEYS = ("arguments", "parameters", "input", "args")
MAX_TEXT_CALLS = 4


def repair_arguments(raw: str) -> dict[str, Any] | None:
    """The object `raw` was meant to be, or None when it cannot be repaired safely."""
    text = raw.strip()
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    for candidate in (text, _TRAILING_COMMA.sub(r"\1", text)):
        try:
            value = json.loads(candidate)
        except ValueError:
            pass
        else:
            return value if isinstance(value, dict) else None
    try:  # single quotes, True/False/None: a Python literal, evaluated safely (no code runs)
        value = ast.literal_eval(_TRAILING_COMMA.sub(r"\1", text))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, dict) and all(isinstance(k, str) for k in value) else None


def _objects(text: str) -> list[str]:
    """Candidate JSON objects in `text`: fenced blocks first, then balanced {...} spans."""
    found = [m.group(1).strip() for m in _FENCE.finditer(text)]
    depth, start = 0, -1
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                found.append(text[start : i + 1])
    return found


def calls_from_text(text: str, tool_names: set[str]) -> list[tuple[str, dict[str, Any] | str]]:
    """(name, arguments) of the tool calls a model wrote as text, for known tools only."""
    calls: list[tuple[str, dict[str, Any] | str]] = []
    for candidate in _objects(text):
        obj = repair_arguments(candidate)
        if obj is None:
            continue
        if isinstance(obj.get("function"), dict):  # {"function": {"name", "arguments"}} (OpenAI shape)
            obj = obj["function"]
        name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str)), None)
        if name not in tool_names:
            continue
        args: Any = next((obj[k] for k in _ARG_KEYS if k in obj), {})
        if isinstance(args, str):
            args = repair_arguments(args) or args
        calls.append((name, args if isinstance(args, (dict, str)) else json.dumps(args)))
        if len(calls) >= MAX_TEXT_CALLS:
            break
    return calls


def text_calls(turn_text: str, tool_names: set[str], turn_index: int) -> list[ToolCall]:
    return [ToolCall(id=f"text_{turn_index}_{i}", name=name, arguments=args)
            for i, (name, args) in enumerate(calls_from_text(turn_text, tool_names))]


# --- json mode: tools without tool calling ---------------------------------------------------------

JSON_MODE_INSTRUCTIONS = """

# How to call tools
You cannot call tools natively. To call one, answer with exactly one JSON object and nothing else:
{"name": "<tool name>", "arguments": {...}}
The result comes back in the next message. To finish, call submit_fix the same way.

Tools:
"""


def json_mode_system(system: str, tools: list[dict[str, Any]]) -> str:
    lines = [f"- {t['name']}: {t.get('description', '').strip()}\n  arguments schema: "
             f"{json.dumps(t['input_schema'], separators=(',', ':'))}" for t in tools]
    return system + JSON_MODE_INSTRUCTIONS + "\n".join(lines)


def json_mode_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The neutral conversation as plain user/assistant text (no tool roles)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m["role"] == "user":
            out.append({"role": "user", "content": m["content"]})
        elif m["role"] == "assistant":
            calls = [json.dumps({"name": c["name"], "arguments": c["arguments"]}, ensure_ascii=False)
                     for c in m.get("tool_calls") or [] if not str(c["id"]).startswith("text_")]
            out.append({"role": "assistant", "content": "\n".join([m.get("text") or "", *calls]).strip()})
        elif m["role"] == "tool_results":
            parts = [f"Result of tool call {r['tool_call_id']}{' (error)' if r['is_error'] else ''}:\n{r['content']}"
                     for r in m["results"]]
            if m.get("text"):
                parts.append(m["text"])
            out.append({"role": "user", "content": "\n\n".join(parts)})
    return out
