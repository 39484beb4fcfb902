"""sources/stacktext.py on real stack-trace texts, one or more per runtime (tests/stack_traces/README.md
says where each came from). Orders are ErrorEvent's: innermost cause first, oldest frame first."""

from __future__ import annotations

from pathlib import Path

import pytest

from sources.stacktext import MAX_FRAMES, detect_language, is_library_path, parse_stack

TRACES = Path(__file__).parent / "stack_traces"


def trace(name: str) -> str:
    return (TRACES / name).read_text()


@pytest.mark.parametrize(("name", "language"), [
    ("python_chained.txt", "python"), ("python_ddtrace_fastapi.txt", "python"),
    ("node_typeerror.txt", "javascript"), ("node_cause.txt", "javascript"), ("java_caused_by.txt", "java"),
    ("go_reflect_panic.txt", "go"), ("go_concurrent_map.txt", "go"), ("ruby_faraday_uncaught.txt", "ruby"),
    ("ruby_backtrace_frames_only.txt", "ruby"), ("dotnet_inner_exceptions.txt", "dotnet"),
    ("dotnet_with_lines.txt", "dotnet"),
])
def test_the_runtime_is_recognised(name: str, language: str) -> None:
    assert detect_language(trace(name)) == language


def test_python_chained_traceback_keeps_every_exception_innermost_first() -> None:
    excs = parse_stack(trace("python_chained.txt"))
    assert [(e.type, e.value) for e in excs] == [
        ("KeyError", "'port'"), ("RuntimeError", "config has no port"),
        ("ValueError", "invalid literal for int() with base 10: 'x'")]
    first = excs[0].frames
    assert [(f.function, f.line_no) for f in first] == [("start", 6), ("load", 3)]
    assert first[-1].context_line == 'return cfg["port"]'  # the caret line under it is not code
    assert first[-1].filename == "/tmp/traces/py_chain.py" and first[-1].in_app


def test_python_from_datadog_marks_site_packages_as_library() -> None:
    [exc] = parse_stack(trace("python_ddtrace_fastapi.txt"))
    assert (exc.type, exc.value) == ("RuntimeError", "Server error")
    crash = exc.frames[-1]
    assert (crash.filename, crash.line_no, crash.function) == ("/home/bits/project/tests/contrib/fastapi/app.py",
                                                                120, "error")
    assert crash.in_app and crash.context_line == 'raise RuntimeError("Server error")'
    assert any(f.in_app is False and "site-packages" in f.filename for f in exc.frames)


def test_node_stack_is_reversed_to_oldest_first_with_columns() -> None:
    [exc] = parse_stack(trace("node_typeerror.txt"))
    assert exc.type == "TypeError" and exc.value == "Cannot read properties of undefined (reading 'name')"
    crash = exc.frames[-1]
    assert (crash.function, crash.filename, crash.line_no, crash.col_no) == ("parse", "/tmp/traces/node.js", 1, 45)
    assert exc.frames[-2].function == "Svc.load"
    assert exc.frames[0].filename.startswith("node:") and exc.frames[0].in_app is False


def test_node_cause_is_the_inner_exception() -> None:
    cause, outer = parse_stack(trace("node_cause.txt"))
    assert (cause.type, cause.value, outer.value) == ("Error", "db down", "load failed")
    assert cause.frames[-1].function == "fetchUser" and outer.frames[-1].function == "main"


def test_java_caused_by_and_truncated_frames() -> None:
    cause, outer = parse_stack(trace("java_caused_by.txt"))
    assert (cause.type, outer.type) == ("java.lang.NumberFormatException", "java.lang.IllegalStateException")
    assert cause.value == 'For input string: "x"'
    crash = cause.frames[-1]
    assert crash.function == "forInputString" and crash.in_app is False  # java.base/… is the JDK
    app = [f for f in cause.frames if f.in_app]
    assert [(f.filename, f.function, f.line_no) for f in app] == [("com/example/Main.java", "parse", 3)]
    assert [(f.module, f.function) for f in outer.frames] == [("com.example.Main", "main"),
                                                              ("com.example.Main", "load")]


def test_go_panic_takes_the_crashing_goroutine_oldest_first() -> None:
    [exc] = parse_stack(trace("go_reflect_panic.txt"))
    assert exc.type == "panic" and exc.value.startswith("reflect: reflect.flag.mustBeAssignable")
    assert [f.function for f in exc.frames] == ["main.main", "reflect.Value.SetInt", "reflect.flag.mustBeAssignable",
                                                "reflect.flag.mustBeAssignableSlow"]
    assert exc.frames[0].in_app and exc.frames[0].line_no == 11
    assert not any(f.in_app for f in exc.frames[1:])


def test_go_fatal_error_with_module_paths() -> None:
    [exc] = parse_stack(trace("go_concurrent_map.txt"))
    assert (exc.type, exc.value) == ("fatal error", "concurrent map writes")
    app = exc.frames[0]
    assert app.filename == "github.com/getlantern/lantern-box/tracker/datacap/tracker.go" and app.line_no == 88
    assert app.function == "github.com/getlantern/lantern-box/tracker/datacap.(*Tracker).add" and app.in_app


def test_ruby_uncaught_exception_line_names_type_and_message() -> None:
    [exc] = parse_stack(trace("ruby_faraday_uncaught.txt"))
    assert (exc.type, exc.value) == ("Faraday::ConnectionFailed", "Broken pipe")
    assert exc.frames[-1].function == "syswrite" and exc.frames[-1].line_no == 326
    assert exc.frames[0].function == "transport_request"  # "block in" is not part of the name
    assert not any(f.in_app for f in exc.frames)  # all under .rvm/rubies


def test_ruby_frames_only_take_type_and_message_from_the_tracker() -> None:
    [exc] = parse_stack(trace("ruby_backtrace_frames_only.txt"), error_type="Liquid::SyntaxError", message="unknown")
    assert (exc.type, exc.value) == ("Liquid::SyntaxError", "unknown")
    assert exc.frames[-1].filename == "C:/github/vincenttam.github.io/plugins/pygments_code.rb"
    assert exc.frames[-1].function == "pygments" and exc.frames[-1].in_app
    assert exc.frames[0].in_app is False  # …/gems/liquid-2.3.0/…


def test_dotnet_inner_exceptions_get_their_own_frames() -> None:
    excs = parse_stack(trace("dotnet_inner_exceptions.txt"))
    assert [e.type for e in excs] == ["Interop+AndroidCrypto+SslException",
                                      "System.Security.Authentication.AuthenticationException",
                                      "System.Net.Http.HttpRequestException"]
    assert excs[0].frames == []
    assert [f.function for f in excs[1].frames] == ["EstablishSslConnectionAsync", "MoveNext"]
    assert excs[2].frames[-1].function == "EstablishSslConnectionAsync" and excs[2].frames[0].in_app is False


def test_dotnet_file_and_line() -> None:
    inner, outer = parse_stack(trace("dotnet_with_lines.txt"))
    assert inner.type == "System.NullReferenceException"
    crash = inner.frames[-1]
    assert crash.filename.endswith("ILAst\\ILAstOptimizer.cs") and crash.line_no == 355
    assert (crash.module, crash.function) == ("ICSharpCode.Decompiler.ILAst.ILAstOptimizer", "Optimize")
    assert crash.in_app and outer.frames[-1].line_no == 92


@pytest.mark.parametrize("name", sorted(p.name for p in TRACES.glob("*.txt")))
def test_a_trace_cut_anywhere_never_raises(name: str) -> None:
    text = trace(name)
    for cut in range(0, len(text), max(1, len(text) // 37)):
        for exc in parse_stack(text[:cut], error_type="E"):
            assert all(f.filename or f.function for f in exc.frames)


def test_a_truncated_python_trace_still_gives_its_frames() -> None:
    text = trace("python_chained.txt")
    tail = text[text.index('  File "/tmp/traces/py_chain.py", line 15'):]
    [exc] = parse_stack(tail)
    assert exc.type == "ValueError" and [f.line_no for f in exc.frames] == [15, 13]


def test_unknown_text_and_huge_input() -> None:
    assert parse_stack("nothing to see", error_type="Boom", message="m")[0].frames == []
    assert parse_stack("") == []
    deep = "Traceback (most recent call last):\n" + '  File "/app/x.py", line 1, in f\n' * 5000 + "RecursionError: x\n"
    [exc] = parse_stack(deep)
    assert len(exc.frames) == MAX_FRAMES and exc.type == "RecursionError"


def test_library_paths() -> None:
    assert is_library_path("/usr/lib/python3.11/json/decoder.py")
    assert is_library_path("/srv/app/node_modules/express/lib/router.js")
    assert not is_library_path("/srv/app/src/handler.py")
    assert is_library_path("", "java.util.HashMap") and not is_library_path("", "com.acme.Api")
