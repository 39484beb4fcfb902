"""One runner per kind of test command: the shell line for a selection, and what its output says.

A runner's report is read only where the runner itself writes it, after the point a test's own
output can reach: pytest's `-rA` short summary after its last header, unittest's result after
its last `Ran N tests` line, node's TAP top-level lines and its final `# pass`/`# fail` counters
(node turns a test's console output into `# ` comments, so it cannot forge a result line). The
counts and the exit code are checked against each other by `TestReport.ok`: a command that
failed is not green whatever its output says, and a pytest run that exits 0 without its summary
(a test called `os._exit(0)`) is reported as an error.
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from execution.config import TestsConfig
from execution.report import MAX_DETAIL_CHARS, MAX_FAILURES, FailedTest, TestSelection


@dataclass
class Parsed:
    """What a runner's output says; the engine adds the command, exit code and limits."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failures: list[FailedTest] = field(default_factory=list)

    def add(self, failure: FailedTest) -> None:
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(failure)


def cap(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """The end of `text` (where a traceback's assertion is), at most `limit` characters."""
    text = text.strip("\n")
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def _quoted(args: list[str]) -> str:
    return "".join(" " + shlex.quote(a) for a in args)


# --- pytest -------------------------------------------------------------------------------------

SUMMARY_HEADER = re.compile(r"^=+ short test summary info =+$")
SUMMARY_LINE = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED)\s+(.*)$")
_SKIPPED_COUNT = re.compile(r"^\[(\d+)\]")
_SECTION = re.compile(r"^=+ (FAILURES|ERRORS) =+$")
_BLOCK_TITLE = re.compile(r"^_{3,} (.+?) _{3,}$")
_HEADER = re.compile(r"^=+ .+ =+$")
_BLOCK_PREFIX = re.compile(r"^(?:ERROR at (?:setup|teardown) of |ERROR collecting )")


def pytest_summary(output: str) -> Iterator[tuple[str, str]]:
    """(word, rest) of each `-rA` summary line. Only lines after the last header count: a test
    can print a fake header in its captured output, but that always comes before the real one."""
    lines = output.splitlines()
    headers = [i for i, line in enumerate(lines) if SUMMARY_HEADER.match(line.strip())]
    for line in lines[headers[-1] + 1:] if headers else []:
        if m := SUMMARY_LINE.match(line):
            yield m.group(1), m.group(2)


def pytest_command(base: str, selection: TestSelection) -> str:
    args = ["-rA", "-p", "no:cacheprovider", *selection.tests]
    if selection.keyword:
        args += ["-k", selection.keyword]
    return base + _quoted(args)


def parse_pytest(output: str, exit_code: int | None) -> Parsed:
    parsed = Parsed()
    blocks = _pytest_blocks(output)
    found_summary = False
    for word, rest in pytest_summary(output):
        found_summary = True
        if word == "SKIPPED":
            m = _SKIPPED_COUNT.match(rest)
            parsed.skipped += int(m.group(1)) if m else 1
        elif word == "XFAIL":
            parsed.skipped += 1
        elif word in ("PASSED", "XPASS"):
            parsed.passed += 1
        else:
            test_id, _, message = rest.partition(" - ")
            test_id = test_id.strip()
            if word == "FAILED":
                parsed.failed += 1
            else:
                parsed.errors += 1
            details = blocks.get(_block_key(test_id), "")
            if not message:
                message = next((ln[1:].strip() for ln in details.splitlines() if ln.startswith("E ")), "")
            parsed.add(FailedTest(id=test_id, message=message.strip()[:500], details=cap(details)))
    if exit_code == 0 and not found_summary:
        # pytest always prints its summary with -rA; exiting 0 without it is not pytest's verdict.
        parsed.errors += 1
        parsed.add(FailedTest(id="(pytest)", message="pytest exited 0 without its test summary"))
    return parsed


def _block_key(test_id: str) -> str:
    """pytest titles a failure block by the node id without its file: `Class.test[param]`."""
    _, sep, name = test_id.partition("::")
    return name.replace("::", ".") if sep else test_id


def _pytest_blocks(output: str) -> dict[str, str]:
    """The FAILURES / ERRORS sections' blocks, by title (first occurrence wins), read between
    the first such section and pytest's own (last) summary header."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if _SECTION.match(line)), len(lines))
    ends = [i for i, line in enumerate(lines) if SUMMARY_HEADER.match(line.strip())]
    blocks: dict[str, str] = {}
    title: str | None = None
    body: list[str] = []
    for line in lines[start:ends[-1] if ends else len(lines)]:
        heading = _BLOCK_TITLE.match(line)
        if title is not None and (heading or _HEADER.match(line)):
            blocks.setdefault(title, "\n".join(body))
            title = None
        if heading:
            title, body = _BLOCK_PREFIX.sub("", heading.group(1)), []
        elif title is not None:
            body.append(line)
    if title is not None:
        blocks.setdefault(title, "\n".join(body))
    return blocks


# --- unittest -----------------------------------------------------------------------------------

_RAN = re.compile(r"^Ran (\d+) tests? in ")
_RESULT = re.compile(r"^(OK|FAILED)(?: \((.*)\))?$")
_UNITTEST_BLOCK = re.compile(r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+)(?: \(([^)]*)\))?")


def unittest_command(base: str, selection: TestSelection) -> str:
    args = ["-v", *selection.tests]
    if selection.keyword:
        args += ["-k", selection.keyword]
    return base + _quoted(args)


def parse_unittest(output: str, exit_code: int | None) -> Parsed:
    parsed = Parsed()
    lines = output.splitlines()
    ran = [i for i, line in enumerate(lines) if _RAN.match(line)]
    if not ran:
        return parsed
    last = ran[-1]
    total = int(_RAN.match(lines[last]).group(1))  # type: ignore[union-attr]
    counts: dict[str, int] = {}
    for line in lines[last + 1:]:
        if m := _RESULT.match(line.strip()):
            for part in (m.group(2) or "").split(","):
                name, _, value = part.strip().partition("=")
                if value.isdigit():
                    counts[name] = int(value)
            break
    parsed.failed = counts.get("failures", 0) + counts.get("unexpected successes", 0)
    parsed.errors = counts.get("errors", 0)
    parsed.skipped = counts.get("skipped", 0) + counts.get("expected failures", 0)
    parsed.passed = max(0, total - parsed.failed - parsed.errors - parsed.skipped)
    for kind, test_id, body in _unittest_blocks(lines[:last]):
        message = next((ln for ln in reversed(body) if ln.strip() and not ln.startswith(" ")), kind)
        parsed.add(FailedTest(id=test_id, message=message.strip()[:500], details=cap("\n".join(body))))
    return parsed


def _unittest_blocks(lines: list[str]) -> Iterator[tuple[str, str, list[str]]]:
    """(FAIL | ERROR, test id, traceback lines) of each block before the final `Ran` line."""
    i = 0
    while i < len(lines):
        m = _UNITTEST_BLOCK.match(lines[i])
        if m and i > 0 and lines[i - 1].startswith("====="):
            test_id = m.group(3) or m.group(2)
            body: list[str] = []
            i += 2  # the dashes under the title
            while i < len(lines) and not lines[i].startswith("=====") and not lines[i].startswith("-----"):
                body.append(lines[i])
                i += 1
            yield m.group(1), test_id, body
            continue
        i += 1


# --- node's test runner (TAP) -------------------------------------------------------------------

_TAP_LINE = re.compile(r"^(?P<indent> *)(?P<status>not ok|ok)\s+\d+(?:\s+-)?\s?(?P<rest>.*)$")
_TAP_COUNTER = re.compile(r"^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$")
_JS_REGEX_SPECIALS = re.compile(r"[\\^$.*+?()\[\]{}|/-]")


def js_regex_escape(text: str) -> str:
    return _JS_REGEX_SPECIALS.sub(lambda m: "\\" + m.group(0), text)


def tap_unescape(text: str) -> str:
    # node's TAP reporter escapes '\', '#' and newlines in test names.
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def split_directive(rest: str) -> tuple[str, str]:
    """'name # SKIP reason' → ('name', 'SKIP reason'). node escapes a '#' inside a name as '\\#',
    so the first unescaped ' # ' starts the directive."""
    name, sep, directive = rest.partition(" # ")
    return (name, directive) if sep else (rest, "")


def tap_outcomes(output: str) -> dict[str, str]:
    """Top-level test name → passed | failed | skipped | todo, from node's TAP output (nested
    subtests are indented and belong to their parent's outcome)."""
    outcomes: dict[str, str] = {}
    for line in output.splitlines():
        m = _TAP_LINE.match(line)
        if not m or m.group("indent"):
            continue
        name, directive = split_directive(m.group("rest"))
        word = directive.split(" ", 1)[0].upper()
        if m.group("status") == "not ok":
            outcome = "failed"
        elif word in ("SKIP", "TODO"):
            outcome = "skipped" if word == "SKIP" else "todo"
        else:
            outcome = "passed"
        outcomes.setdefault(tap_unescape(name.strip()), outcome)
    return outcomes


def node_command(base: str, selection: TestSelection) -> str:
    files: list[str] = []
    patterns: list[str] = []
    for test_id in selection.tests:
        file, _, name = test_id.partition("::")
        files.append(file)
        if name:
            patterns.append(f"--test-name-pattern=^{js_regex_escape(name)}$")
    if selection.keyword:
        patterns.append(f"--test-name-pattern={selection.keyword}")
    reporter = [] if "--test-reporter" in base else ["--test-reporter=tap"]
    return base + _quoted([*reporter, *patterns, *dict.fromkeys(files)])


def parse_tap(output: str, exit_code: int | None) -> Parsed:
    parsed = Parsed()
    counters: dict[str, int] = {}
    for line in output.splitlines():
        if m := _TAP_COUNTER.match(line):
            counters[m.group(1)] = int(m.group(2))  # the last one wins: node prints them at the end
    if counters:
        parsed.passed = counters.get("pass", 0)
        parsed.failed = counters.get("fail", 0) + counters.get("cancelled", 0)
        parsed.skipped = counters.get("skipped", 0) + counters.get("todo", 0)
    else:  # another TAP producer (npm scripts running tape, …): count the top-level lines
        for outcome in tap_outcomes(output).values():
            if outcome == "passed":
                parsed.passed += 1
            elif outcome == "failed":
                parsed.failed += 1
            else:
                parsed.skipped += 1
    for name, yaml in _tap_failures(output):
        if "failureType: 'subtestsFailed'" in yaml:
            continue  # the parent of a failed subtest: the subtest is reported itself
        message = _yaml_value(yaml, "error") or "failed"
        parsed.add(FailedTest(id=name, message=message[:500], details=cap(yaml)))
    return parsed


def _tap_failures(output: str) -> Iterator[tuple[str, str]]:
    """(name with its parents, YAML diagnostics) of every `not ok` line, nested ones included."""
    lines = output.splitlines()
    parents: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        if line.lstrip().startswith("# Subtest: "):
            indent = len(line) - len(line.lstrip())
            parents = [p for p in parents if p[0] < indent]
            parents.append((indent, tap_unescape(line.lstrip()[len("# Subtest: "):])))
            continue
        m = _TAP_LINE.match(line)
        if not m or m.group("status") != "not ok":
            continue
        indent = len(m.group("indent"))
        name = tap_unescape(split_directive(m.group("rest"))[0].strip())
        path = [p[1] for p in parents if p[0] < indent] + [name]
        yaml: list[str] = []
        if i + 1 < len(lines) and lines[i + 1].strip() == "---":
            for body in lines[i + 2:]:
                if body.strip() == "...":
                    break
                yaml.append(body[indent + 2:])
        yield " > ".join(path), "\n".join(yaml)


def _yaml_value(yaml: str, key: str) -> str:
    """A top-level scalar or block value of node's TAP diagnostics, as one line."""
    lines = yaml.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{key}:"):
            value = line[len(key) + 1:].strip()
            if value in ("|-", "|", ">-", ">"):
                block = [ln.strip() for ln in itertools.takewhile(lambda ln: ln.startswith("  "), lines[i + 1:])]
                value = " ".join(b for b in block if b)
            return value.strip("'\"")
    return ""


# --- npm and plain commands ---------------------------------------------------------------------


def args_command(base: str, selection: TestSelection) -> str:
    return base + _quoted(selection.tests)


def parse_npm(output: str, exit_code: int | None) -> Parsed:
    """npm runs whatever its `test` script says: TAP when it writes TAP, else the exit code."""
    if "TAP version" in output or any(_TAP_COUNTER.match(ln) for ln in output.splitlines()):
        return parse_tap(output, exit_code)
    return parse_exit_code(output, exit_code)


def parse_exit_code(output: str, exit_code: int | None) -> Parsed:
    if exit_code == 0:
        return Parsed(passed=1)
    return Parsed(failed=1, failures=[FailedTest(id="(command)", message=f"exited {exit_code}")]
                  if exit_code is not None else [])


@dataclass(frozen=True)
class Runner:
    kind: str
    command: Callable[[str, TestSelection], str]  # (the configured base command, selection) → shell line
    parse: Callable[[str, int | None], Parsed]


RUNNERS: dict[str, Runner] = {
    "pytest": Runner("pytest", pytest_command, parse_pytest),
    "unittest": Runner("unittest", unittest_command, parse_unittest),
    "node": Runner("node", node_command, parse_tap),
    "npm": Runner("npm", args_command, parse_npm),
    "exit-code": Runner("exit-code", args_command, parse_exit_code),
}


def runner_for(tests: TestsConfig) -> Runner:
    return RUNNERS[tests.runner]
