"""Frame → repository file mapping, driven by frames from real Sentry events."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from domain import ErrorEvent, StackFrame
from sources.sentry.parser import parse_event
from tools.mapping import FrameMapper, library_reason, module_paths, normalize_frame_path

REAL = "sentry/real"


def load_event(shared_dir: Path, name: str) -> ErrorEvent:
    raw: Any = json.loads((shared_dir / "fixtures" / REAL / name).read_text())
    if name.startswith("api-schema"):
        raw = raw["get"]["responses"]["200"]["content"]["application/json"]["example"]
    return parse_event(raw)


def frames_of(event: ErrorEvent) -> list[StackFrame]:
    return [f for exc in event.exceptions for f in exc.frames]


# ---- Python ---------------------------------------------------------------------------------------


def test_glitchtip_django_event(shared_dir: Path) -> None:
    frames = frames_of(load_event(shared_dir, "glitchtip-oss-sentry-python_zero_division.json"))
    mapper = FrameMapper(["manage.py", "errors/__init__.py", "errors/views.py", "glitchtip/settings.py"])
    *django, app = frames
    assert app.abs_path == "/code/errors/views.py" and app.in_app is False
    for frame in django:
        m = mapper.map(frame)
        assert m.status == "library" and m.path is None and "site-packages" in m.reason
    # The SDK marked the app's own view as not in-app: it stays a library frame, but its file is known.
    m = mapper.map(app)
    assert m.status == "library" and m.path == "errors/views.py"
    assert mapper.map(app.model_copy(update={"in_app": None})).path == "errors/views.py"
    assert mapper.map(app.model_copy(update={"in_app": None})).status == "mapped"
    assert mapper.map(app.model_copy(update={"in_app": True})).status == "mapped"


def test_python_modern_sample(shared_dir: Path) -> None:
    frames = frames_of(load_event(shared_dir, "sentry-sample-python-modern.json"))
    assert {f.abs_path for f in frames} == {"/Users/user/test/main.py"}
    # The repository root's main.py is consistent with the path; tools/main.py contradicts it.
    mapper = FrameMapper(["main.py", "tools/main.py", "README.md"])
    assert all(mapper.map(f).path == "main.py" and mapper.map(f).status == "mapped" for f in frames)
    # A longer agreeing suffix wins.
    assert FrameMapper(["main.py", "test/main.py"]).map(frames[0]).path == "test/main.py"
    # An in-app frame with no file in the repository says so.
    missing = FrameMapper(["app.py"]).map(frames[0])
    assert missing.status == "not_in_repo" and missing.path is None


def test_python_module_names() -> None:
    files = ["app/services/users.py", "app/services/__init__.py", "app/__init__.py", "other/users.py"]
    mapper = FrameMapper(files)
    by_module = StackFrame(module="app.services.users", function="get", in_app=True)
    assert mapper.map(by_module).path == "app/services/users.py"
    package = StackFrame(module="app.services", in_app=True)
    assert mapper.map(package).path == "app/services/__init__.py"
    # The bare file name alone is ambiguous; the module disambiguates it.
    with_module = StackFrame(filename="users.py", module="app.services.users", in_app=True)
    assert mapper.map(with_module).path == "app/services/users.py"
    assert module_paths("__main__", "main.py") == []


# ---- JavaScript -----------------------------------------------------------------------------------------


def test_sentry_mcp_worker_bundle(shared_dir: Path) -> None:
    frames = frames_of(load_event(shared_dir, "sentry-mcp-event-javascript.json"))
    assert {f.abs_path for f in frames} == {"/index.js"} and all(f.in_app for f in frames)
    mapper = FrameMapper(["index.js", "src/index.ts", "packages/server/index.js"])
    assert {mapper.map(f).path for f in frames} == {"index.js"}
    # Two workspace packages both shipping index.js: never guessed.
    amb = FrameMapper(["packages/a/index.js", "packages/b/index.js"]).map(frames[0])
    assert amb.status == "ambiguous" and amb.path is None
    assert amb.candidates == ["packages/a/index.js", "packages/b/index.js"]


def test_api_schema_browser_event_is_all_library(shared_dir: Path) -> None:
    event = load_event(shared_dir, "api-schema-latest-event-javascript.json")
    mapper = FrameMapper(["src/sentry/static/sentry/app/index.tsx", "package.json"])
    for frame in frames_of(event):
        assert mapper.map(frame).status == "library"
    assert library_reason(frames_of(event)[0]) == "library path (node_modules)"


@pytest.mark.parametrize(
    "raw",
    [
        "webpack:///./src/components/Cart.js",
        "webpack://shop-frontend/./src/components/Cart.js",
        "webpack-internal:///./src/components/Cart.js",
        "app:///src/components/Cart.js",
        "http://localhost:3000/src/components/Cart.js?v=123#frag",
        "https://cdn.example.com/static/src/components/Cart.js",
        "~/src/components/Cart.js",
        "./src/components/Cart.js",
        "/srv/app/src/lib/../components/Cart.js",
    ],
)
def test_js_urls_and_prefixes_are_stripped(raw: str) -> None:
    mapper = FrameMapper(["web/src/components/Cart.js", "web/src/components/Cart.test.js", "api/Cart.js"])
    m = mapper.map(StackFrame(abs_path=raw, filename=raw, in_app=True))
    assert (m.status, m.path) == ("mapped", "web/src/components/Cart.js")


def test_normalize_frame_path() -> None:
    assert normalize_frame_path("webpack:///./src/a.js") == ("src", "a.js")
    assert normalize_frame_path("C:\\Users\\dev\\shop\\app\\models.py") == ("Users", "dev", "shop", "app", "models.py")
    assert normalize_frame_path("\\\\server\\share\\app\\x.py") == ("server", "share", "app", "x.py")
    assert normalize_frame_path("<frozen importlib._bootstrap>") == ()
    assert normalize_frame_path("../../a/./b.py") == ("a", "b.py")


# ---- JVM -------------------------------------------------------------------------------------------------


def test_java_chained_exception_frame(shared_dir: Path) -> None:
    event = load_event(shared_dir, "sentry-grouping-chained-exception-java.json")
    (frame,) = frames_of(event)
    assert (frame.filename, frame.module) == ("MainActivity.java", "com.example.MainActivity")
    files = [
        "app/src/main/java/com/example/MainActivity.java",
        "app/src/test/java/com/example/other/MainActivity.java",
        "legacy/MainActivity.java",
    ]
    m = FrameMapper(files).map(frame)
    assert (m.status, m.path) == ("mapped", "app/src/main/java/com/example/MainActivity.java")
    # The Android framework part of the chain is platform code.
    assert library_reason(StackFrame(filename="Binder.java", module="android.os.Binder")) is not None


def test_seed_source_root_example() -> None:
    files = [
        "src/main/kotlin/com/example/service/UserService.kt",
        "src/test/kotlin/com/example/service/UserServiceTest.kt",
    ]
    frame = StackFrame(filename="com/example/service/UserService.kt", function="findUser", line_no=42, in_app=True)
    m = FrameMapper(files, source_root="src/main/kotlin/").map(frame)
    assert (m.status, m.path) == ("mapped", "src/main/kotlin/com/example/service/UserService.kt")
    # The Java SDK's usual shape (bare file name + class) maps through the package too.
    sdk_shape = StackFrame(filename="UserService.kt", module="com.example.service.UserService$findUser$1", in_app=True)
    assert FrameMapper(files).map(sdk_shape).path == "src/main/kotlin/com/example/service/UserService.kt"
    no_file = StackFrame(module="com.example.service.UserServiceKt", in_app=True)
    assert FrameMapper(files).map(no_file).path == "src/main/kotlin/com/example/service/UserService.kt"


def test_source_root_disambiguates_multi_module_repos() -> None:
    files = [
        "billing/src/main/kotlin/com/example/service/UserService.kt",
        "accounts/src/main/kotlin/com/example/service/UserService.kt",
    ]
    frame = StackFrame(filename="com/example/service/UserService.kt", in_app=True)
    amb = FrameMapper(files, source_root="src/main/kotlin").map(frame)
    assert amb.status == "ambiguous" and sorted(amb.candidates) == sorted(files)
    m = FrameMapper(files, source_root="accounts/src/main/kotlin").map(frame)
    assert m.path == "accounts/src/main/kotlin/com/example/service/UserService.kt"


MONOREPO = ["services/a/app/views.py", "services/b/app/views.py", "services/a/app/__init__.py",
            "services/b/app/__init__.py", "libs/shared/app/money.py"]


@pytest.mark.parametrize(
    "frame",
    [
        StackFrame(filename="app/views.py", in_app=True),
        StackFrame(abs_path="/srv/app/views.py", in_app=True),  # container path, no relative file name
        StackFrame(abs_path="/usr/src/app/views.py", filename="/usr/src/app/views.py", in_app=True),
        StackFrame(abs_path="/srv/app/views.py"),  # in_app unknown
    ],
)
def test_monorepo_source_root_selects_the_service(frame: StackFrame) -> None:
    """Two services with the same relative path: only the project's source root can tell them apart."""
    amb = FrameMapper(MONOREPO).map(frame)
    assert amb.status == "ambiguous" and amb.candidates == ["services/a/app/views.py", "services/b/app/views.py"]
    for root in ("services/b/", "services/b", "./services/b"):
        m = FrameMapper(MONOREPO, source_root=root).map(frame)
        assert (m.status, m.path, m.candidates) == ("mapped", "services/b/app/views.py", []), root


def test_monorepo_source_root_keeps_a_unique_match_outside_it() -> None:
    # Shared code outside the service's root is still found when nothing else matches.
    m = FrameMapper(MONOREPO, source_root="services/b").map(StackFrame(abs_path="/srv/app/money.py", in_app=True))
    assert (m.status, m.path) == ("mapped", "libs/shared/app/money.py")
    # A root that selects neither candidate does not pretend to decide.
    amb = FrameMapper(MONOREPO, source_root="services/c").map(StackFrame(abs_path="/srv/app/views.py", in_app=True))
    assert amb.status == "ambiguous"


# ---- Go ----------------------------------------------------------------------------------------------------


def test_go_pkg_mod_event(shared_dir: Path) -> None:
    lib, app = frames_of(load_event(shared_dir, "sentry-grouping-go-pkg-mod.json"))
    mapper = FrameMapper(["main.go", "cmd/worker/main.go", "go.mod", "vendor/github.com/robfig/cron/v3/cron.go"])
    assert lib.in_app is None and mapper.map(lib).status == "library"
    m = mapper.map(app)
    assert (m.status, m.path) == ("mapped", "main.go")


# ---- ambiguity, libraries, Windows ------------------------------------------------------------------------


def test_two_utils_are_ambiguous_never_guessed() -> None:
    mapper = FrameMapper(["billing/utils.py", "accounts/utils.py", "app.py"])
    for frame in (
        StackFrame(filename="utils.py", in_app=True),
        StackFrame(abs_path="/srv/app/utils.py", filename="utils.py", in_app=True),
    ):
        m = mapper.map(frame)
        assert m.status == "ambiguous" and m.path is None
        assert m.candidates == ["accounts/utils.py", "billing/utils.py"]
    # One more agreeing directory resolves it.
    assert mapper.map(StackFrame(abs_path="/srv/billing/utils.py", in_app=True)).path == "billing/utils.py"


@pytest.mark.parametrize(
    "frame",
    [
        StackFrame(abs_path="/usr/lib/python3.11/json/decoder.py", filename="json/decoder.py"),
        StackFrame(abs_path="/venv/lib/python3.12/site-packages/requests/api.py", in_app=True),
        StackFrame(abs_path="C:\\Python311\\Lib\\json\\decoder.py"),
        StackFrame(abs_path="/app/node_modules/react-dom/cjs/react-dom.development.js"),
        StackFrame(filename="node:internal/process/task_queues"),
        StackFrame(abs_path="/root/go/pkg/mod/github.com/lib/pq@v1.10.9/conn.go"),
        StackFrame(abs_path="/usr/local/go/src/runtime/panic.go"),
        StackFrame(abs_path="/var/www/vendor/laravel/framework/src/Router.php"),
        StackFrame(filename="Thread.java", module="java.lang.Thread"),
        StackFrame(filename="<frozen runpy>"),
        StackFrame(abs_path="/app/models.py", in_app=False),
    ],
)
def test_library_frames(frame: StackFrame) -> None:
    files = ["json/decoder.py", "requests/api.py", "app/models.py", "conn.go", "src/Router.php", "Thread.java"]
    assert FrameMapper(files).map(frame).status == "library"


def test_unknown_in_app_is_decided_by_the_repository() -> None:
    mapper = FrameMapper(["shop/models.py", "shop/views.py"])
    assert mapper.map(StackFrame(abs_path="/srv/shop/models.py")).status == "mapped"
    # Only the base name agrees and a directory contradicts: not convincing without in_app.
    assert mapper.map(StackFrame(abs_path="/opt/other/models.py")).status == "library"
    assert mapper.map(StackFrame(abs_path="/opt/other/nothing.py")).status == "library"


def test_windows_paths() -> None:
    mapper = FrameMapper(["app/models.py", "lib/models.py"])
    frame = StackFrame(abs_path="C:\\Users\\dev\\shop\\app\\models.py", filename="app\\models.py", in_app=True)
    m = mapper.map(frame)
    assert (m.status, m.path) == ("mapped", "app/models.py")
    dotnet = FrameMapper(["src/Shop.Api/Controllers/OrdersController.cs"])
    cs = StackFrame(abs_path="D:\\a\\shop\\src\\Shop.Api\\Controllers\\OrdersController.cs", in_app=True)
    assert dotnet.map(cs).path == "src/Shop.Api/Controllers/OrdersController.cs"


# ---- file list sources and speed ---------------------------------------------------------------------------


def test_mapper_from_a_worktree_lists_tracked_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg/mod.py").write_text("x = 1\n")
    (repo / ".gitignore").write_text("ignored.py\n")
    (repo / "ignored.py").write_text("")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    mapper = FrameMapper(repo)
    assert "pkg/mod.py" in mapper.files and "ignored.py" not in mapper.files
    (repo / "pkg/new.py").write_text("")  # untracked but not ignored: a file the agent created
    assert "pkg/new.py" in FrameMapper(repo).files


def test_mapper_from_a_plain_directory(tmp_path: Path) -> None:
    (tmp_path / "plain/a").mkdir(parents=True)
    (tmp_path / "plain/a/b.py").write_text("")
    (tmp_path / "plain/node_modules/x").mkdir(parents=True)
    (tmp_path / "plain/node_modules/x/i.js").write_text("")
    # A non-repository directory inside no repository: walked, skipping dependency folders.
    files = FrameMapper(tmp_path / "plain").files
    assert "a/b.py" in files and not any("node_modules" in f for f in files)


def test_large_repository_is_fast() -> None:
    # Django-sized: ~7,000 files, many sharing base names (__init__.py, models.py, tests.py).
    files = [f"django/app{i // 50}/mod{i % 50}/{name}" for i in range(1750)
             for name in ("__init__.py", "models.py", "views.py", "tests.py")]
    started = time.perf_counter()
    mapper = FrameMapper(files)
    frames = [StackFrame(abs_path=f"/usr/src/{files[i]}", in_app=True) for i in range(0, 7000, 7)]
    results = [mapper.map(f) for f in frames]
    elapsed = time.perf_counter() - started
    assert all(r.status == "mapped" for r in results)
    assert [r.path for r in results] == [files[i] for i in range(0, 7000, 7)]
    assert elapsed < 0.5, f"mapping took {elapsed:.2f}s"
