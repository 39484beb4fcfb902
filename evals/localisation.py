"""Did the run change the right code, and did it ever look at it?

Localisation is scored separately from resolution because it explains failures: a run that
edited the gold function but got the fix wrong is a different problem from one that never
opened the right file. Two questions per gold file and gold function:

* touched: the run's edits changed it (a function counts when a changed line lies inside it;
  Python functions come from the `ast`, JavaScript ones from a brace-matching scan that knows
  declarations, function expressions, arrow functions and methods);
* seen: its path or name appeared in any tool output the model received.

Gold function names may be bare (`apply_discount`), qualified (`Cart.total`) or prefixed by a
file (`shop/cart.py::Cart.total`); a qualified name matches its own last parts.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, Field

_JS_FUNCTION_PATTERNS = tuple(re.compile(p, re.MULTILINE) for p in (
    # function name(   /   function* name(
    r"\bfunction\s*\*?\s*(?P<name>[A-Za-z_$][\w$]*)\s*\(",
    # const name = function / (a, b) => / a =>
    r"\b(?:const|let|var)\s+(?P<name>[A-Za-z_$][\w$]*)\s*=\s*(?:async\s+)?"
    r"(?:function\b|\([^()]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)",
    # name: function / name: (a) =>   (object literal members)
    r"(?:^|[,{])\s*(?P<name>[A-Za-z_$][\w$]*)\s*:\s*(?:async\s+)?(?:function\b|\([^()]*\)\s*=>)",
    # class methods and object shorthand methods: name(a, b) {
    r"^\s*(?:static\s+)?(?:async\s+)?(?:get\s+|set\s+)?\*?(?P<name>[A-Za-z_$][\w$]*)\s*\([^()]*\)\s*\{",
))
_JS_CLASS = re.compile(r"\bclass\s+(?P<name>[A-Za-z_$][\w$]*)")
_JS_NOT_FUNCTIONS = {"if", "for", "while", "switch", "catch", "function", "return", "with", "do", "else"}


@dataclass(frozen=True)
class Span:
    name: str  # qualified: Class.method, outer.inner
    start: int  # 1-based, inclusive
    end: int


class Localisation(BaseModel):
    gold_files: list[str] = Field(default_factory=list)
    gold_functions: list[str] = Field(default_factory=list)
    files_touched: list[str] = Field(default_factory=list)
    functions_touched: list[str] = Field(default_factory=list)
    gold_files_touched: list[str] = Field(default_factory=list)
    gold_functions_touched: list[str] = Field(default_factory=list)
    gold_files_seen: list[str] = Field(default_factory=list)  # named in a tool output
    gold_functions_seen: list[str] = Field(default_factory=list)

    @property
    def file_hit(self) -> bool | None:
        return None if not self.gold_files else set(self.gold_files) <= set(self.gold_files_touched)

    @property
    def function_hit(self) -> bool | None:
        return None if not self.gold_functions else set(self.gold_functions) <= set(self.gold_functions_touched)

    @property
    def file_precision(self) -> float | None:
        """Share of the touched files that are gold files (edits spread over unrelated files
        make a fix harder to review)."""
        if not self.files_touched or not self.gold_files:
            return None
        return len(set(self.files_touched) & set(self.gold_files)) / len(self.files_touched)


# --- functions in a file -----------------------------------------------------------------------


def python_spans(source: str) -> list[Span]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    spans: list[Span] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                if not isinstance(child, ast.ClassDef):
                    spans.append(Span(name, start, child.end_lineno or child.lineno))
                walk(child, name + ".")
            else:
                walk(child, prefix)

    walk(tree, "")
    return spans


def _strip_js_noise(source: str) -> str:
    """Blank out comments and string/template contents (keeping newlines) so braces inside them
    do not count. Regex literals are not understood; a brace in one may shift a span."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        two = source[i:i + 2]
        if two == "//":
            j = source.find("\n", i)
            j = n if j == -1 else j
            out.append(" " * (j - i))
            i = j
        elif two == "/*":
            j = source.find("*/", i + 2)
            j = n if j == -1 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in source[i:j]))
            i = j
        elif c in "'\"`":
            j = i + 1
            while j < n and source[j] != c:
                j += 2 if source[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + "".join(ch if ch == "\n" else " " for ch in source[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _block_end(text: str, open_at: int) -> int:
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(text) - 1


def javascript_spans(source: str) -> list[Span]:
    text = _strip_js_noise(source)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(offset: int) -> int:
        lo, hi = 0, len(line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    raw: list[tuple[str, int, int, bool]] = []  # name, start offset, end offset, is_class
    for m in _JS_CLASS.finditer(text):
        brace = text.find("{", m.end())
        if brace != -1:
            raw.append((m.group("name"), m.start(), _block_end(text, brace), True))
    seen: set[int] = set()
    for pattern in _JS_FUNCTION_PATTERNS:
        for m in pattern.finditer(text):
            name = m.group("name")
            if name in _JS_NOT_FUNCTIONS or m.start("name") in seen:
                continue
            seen.add(m.start("name"))
            brace = text.find("{", m.end() - 1)
            newline = text.find("\n", m.end())
            arrow_body_is_expression = "=>" in m.group(0) and (brace == -1 or (newline != -1 and brace > newline))
            end = (newline if newline != -1 else len(text)) if arrow_body_is_expression or brace == -1 \
                else _block_end(text, brace)
            raw.append((name, m.start("name"), end, False))
    spans: list[Span] = []
    for name, start, end, is_class in raw:
        if is_class:
            continue
        parents = [r for r in raw if r[1] < start and r[2] >= end]
        qualified = ".".join([p[0] for p in sorted(parents, key=lambda r: r[1])] + [name])
        spans.append(Span(qualified, line_of(start), line_of(end)))
    return spans


def spans_for(path: str, source: str) -> list[Span]:
    if path.endswith(".py"):
        return python_spans(source)
    if path.endswith((".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx")):
        return javascript_spans(source)
    return []


def _innermost(spans: list[Span], line: int) -> str | None:
    inside = [s for s in spans if s.start <= line <= s.end]
    return min(inside, key=lambda s: s.end - s.start).name if inside else None


def changed_functions(path: str, before: str | None, after: str) -> set[str]:
    """Functions (qualified) containing a changed line: removed/replaced lines are looked up in
    the old file, added lines in the new one."""
    old_lines = (before or "").splitlines()
    new_lines = after.splitlines()
    old_spans = spans_for(path, before or "")
    new_spans = spans_for(path, after)
    touched: set[str] = set()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for line in range(i1 + 1, i2 + 1):
            name = _innermost(old_spans, line)
            if name:
                touched.add(name)
        for line in range(j1 + 1, j2 + 1):
            name = _innermost(new_spans, line)
            if name:
                touched.add(name)
    return touched


# --- matching against the gold lists ----------------------------------------------------------


def _bare(gold_function: str) -> str:
    return gold_function.split("::", 1)[1] if "::" in gold_function else gold_function


def function_matches(gold: str, touched: str) -> bool:
    g = _bare(gold)
    return touched == g or touched.endswith("." + g) or g.endswith("." + touched)


def mentioned(text: str, name: str) -> bool:
    last = _bare(name).rsplit(".", 1)[-1]
    return re.search(rf"(?<![\w$]){re.escape(last)}(?![\w$])", text) is not None


def localise(
    gold_files: list[str],
    gold_functions: list[str],
    files_touched: Iterable[str],
    functions_touched: Iterable[str],
    tool_outputs: Iterable[str],
) -> Localisation:
    files = sorted(set(files_touched))
    functions = sorted(set(functions_touched))
    outputs = "\n".join(tool_outputs)
    return Localisation(
        gold_files=gold_files,
        gold_functions=gold_functions,
        files_touched=files,
        functions_touched=functions,
        gold_files_touched=[f for f in gold_files if f in files],
        gold_functions_touched=[g for g in gold_functions if any(function_matches(g, t) for t in functions)],
        gold_files_seen=[f for f in gold_files if f in outputs],
        gold_functions_seen=[g for g in gold_functions if mentioned(outputs, g)],
    )
