"""get_stacktrace / render_event over real events and a real worktree on disk."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from domain import Breadcrumb, ErrorEvent, ExceptionInfo, RequestContext, StackFrame
from sources.sentry.parser import parse_event
from tools.base import ToolContext
from tools.mapping import FrameMapper
from tools.registry import Registry, call_tool
from tools.stacktrace import get_stacktrace, render_event, scrub_query, scrub_url

SECRET = "sk_live_SuperSecretValue123"

VIEWS_PY = "\n".join(
    [
        "from django.contrib.auth.models import User",
        "from django.views.generic import TemplateView, View",
        "",
        "",
        "class HomeView(TemplateView):",
        '    """Landing page."""',
        "",
        "    extra_context = {}",
        "",
        "",
        "class AboutView(TemplateView):",
        "    # about page",
        '    template_name = "home.html"',
        "",
        "",
        "class DivideZeroView(View):",
        "    def get(self, request, *args, **kwargs):",
        "        0/0",
        "",
        "",
        "class DatabaseErrorView(View):",
        "    def get(self, request, *args, **kwargs):",
        '        User.objects.get(id="9999999")',
        "",
    ]
)


def load(shared_dir: Path, name: str) -> ErrorEvent:
    raw: Any = json.loads((shared_dir / "fixtures/sentry/real" / name).read_text())
    if name.startswith("api-schema"):
        raw = raw["get"]["responses"]["200"]["content"]["application/json"]["example"]
    return parse_event(raw)


def make_worktree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    return root


async def run_tool(ctx: ToolContext, **args: Any) -> str:
    outcome = await call_tool(Registry([get_stacktrace]), ctx, "get_stacktrace", args)
    assert not outcome.is_error, outcome.text
    return outcome.text


# ---- a synthetic but realistic Python event ------------------------------------------------------------


def lib(path: str, fn: str, line: int) -> StackFrame:
    return StackFrame(filename=path.split("site-packages/")[-1], abs_path=path, function=fn, line_no=line,
                      in_app=False, context_line=f"    {fn}(...)")


SHOP_SERVICE = "\n".join(f"line {n}" for n in range(1, 40)).replace(
    "line 20", "    return prices[sku] * qty  # the crash line in the repo"
) + "\n"


def shop_event(n_breadcrumbs: int = 20) -> ErrorEvent:
    site = "/venv/lib/python3.12/site-packages"
    cause = ExceptionInfo(
        type="KeyError", value="'SKU-1'", mechanism="generic", handled=True,
        frames=[
            lib(f"{site}/flask/app.py", "dispatch_request", 880),
            StackFrame(filename="shop/service.py", abs_path="/srv/app/shop/service.py", module="shop.service",
                       function="price_of", line_no=20, in_app=True,
                       pre_context=["    # stale event context"], context_line="    return prices[sku] * qty",
                       post_context=["    # after"], vars={"sku": "'SKU-1'", "api_token": f"'{SECRET}'"}),
        ],
    )
    outer = ExceptionInfo(
        type="CheckoutError", value="could not price cart", mechanism="flask", handled=False,
        frames=[
            lib(f"{site}/flask/app.py", "wsgi_app", 1511),
            lib(f"{site}/flask/app.py", "full_dispatch_request", 919),
            lib(f"{site}/flask/app.py", "dispatch_request", 902),
            StackFrame(filename="utils.py", abs_path="/srv/app/utils.py", function="wrap", line_no=3, in_app=True,
                       pre_context=["def wrap(f):", "    try:"], context_line="        return f()",
                       post_context=["    except KeyError as e:"]),
            StackFrame(filename="gen/rpc_pb2.py", abs_path="/srv/app/gen/rpc_pb2.py", function="call", line_no=7,
                       in_app=True, context_line="    raise CheckoutError('could not price cart')"),
        ],
    )
    crumbs = [Breadcrumb(timestamp=f"2024-05-01T10:00:{i:02d}Z", category="http", message=f"crumb-{i}",
                         data={"url": f"/api/{i}"}) for i in range(n_breadcrumbs)]
    return ErrorEvent(
        id="abc123", title="CheckoutError: could not price cart", level="error", platform="python",
        release="shop@1a2b3c4d", environment="production", exceptions=[cause, outer], breadcrumbs=crumbs,
        tags={"server_name": "web-1", "customer_tier": "gold", "session_id": SECRET},
        request=RequestContext(
            method="POST", url=f"https://user:{SECRET}@shop.example.com/cart/checkout?token={SECRET}&page=2",
            query_string=f"page=2&api_key={SECRET}",
            headers={"Cookie": f"session={SECRET}", "Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET},
            data={"card": SECRET}, env={"REMOTE_ADDR": "10.0.0.1"},
        ),
    )


@pytest.fixture
def shop_repo(tmp_path: Path) -> Path:
    return make_worktree(tmp_path / "wt", {
        "shop/service.py": SHOP_SERVICE,
        "shop/utils.py": "x\n",
        "billing/utils.py": "y\n",
        "app.py": "print()\n",
    })


async def test_output_has_mapped_paths_and_worktree_source(shop_repo: Path) -> None:
    text = await run_tool(ToolContext(worktree=shop_repo, event=shop_event()))
    assert "#2 price_of — shop/service.py:20   <== CRASH" in text
    # Source comes from the worktree (the event's context line differs), numbered, crash line marked.
    assert re.search(r"^   >    20 \|     return prices\[sku\] \* qty  # the crash line in the repo$", text, re.M)
    for n in (15, 16, 19, 21, 25):
        assert re.search(rf"^        {n} \| line {n}$", text, re.M)
    assert not re.search(r"^\s+14 \| line 14$", text, re.M) and not re.search(r"^\s+26 \| line 26$", text, re.M)
    assert "the event shows 'return prices[sku] * qty' at this line" in text  # deployed code differs
    assert "stale event context" not in text


async def test_chain_order_and_crash_markers(shop_repo: Path) -> None:
    text = await run_tool(ToolContext(worktree=shop_repo, event=shop_event()))
    assert "innermost cause first as Sentry orders them; the last one is the reported exception" in text
    first = text.index("Exception 1 of 2 (innermost cause): KeyError")
    second = text.index("Exception 2 of 2 (reported exception): CheckoutError")
    assert first < second
    assert "mechanism: generic, handled" in text and "mechanism: flask, unhandled" in text
    assert "oldest call first; the crash frame is last" in text
    crash_lines = [ln for ln in text.splitlines() if "<== CRASH" in ln]
    assert len(crash_lines) == 2
    assert "#2 price_of — shop/service.py:20" in crash_lines[0]
    assert "#5 call — /srv/app/gen/rpc_pb2.py:7 (not in repo)" in crash_lines[1]


async def test_unmapped_and_ambiguous_frames_use_event_context(shop_repo: Path) -> None:
    text = await run_tool(ToolContext(worktree=shop_repo, event=shop_event()))
    assert "/srv/app/utils.py:3 (ambiguous: billing/utils.py, shop/utils.py)" in text
    assert "(source from the event's context lines, not from the repository)" in text
    assert re.search(r"^   >     3 \|         return f\(\)$", text, re.M)
    assert re.search(r"^         1 \| def wrap\(f\):$", text, re.M)
    assert re.search(r"^   >     7 \|     raise CheckoutError", text, re.M)


async def test_library_frames_collapsed_then_expanded(shop_repo: Path) -> None:
    ctx = ToolContext(worktree=shop_repo, event=shop_event())
    collapsed = await run_tool(ctx)
    assert "[3 library frames hidden; call get_stacktrace with include_library_frames=true to see them]" in collapsed
    assert "[1 library frame hidden;" in collapsed
    assert "wsgi_app" not in collapsed and "flask/app.py" not in collapsed
    expanded = await run_tool(ctx, include_library_frames=True)
    assert "hidden" not in expanded
    assert "#1 wsgi_app — /venv/lib/python3.12/site-packages/flask/app.py:1511 (library)" in expanded
    assert "    wsgi_app(...)" in expanded  # a library frame shows just its line


async def test_secrets_are_never_shown(shop_repo: Path) -> None:
    text = await run_tool(ToolContext(worktree=shop_repo, event=shop_event()))
    assert SECRET not in text
    assert "Cookie" not in text and "Authorization" not in text and "X-Api-Key" not in text
    assert "POST https://shop.example.com/cart/checkout?token=%5Bredacted%5D&page=2" in text or \
        "POST https://shop.example.com/cart/checkout?token=[redacted]&page=2" in text
    assert "query: page=2&api_key=[redacted]" in text
    assert "api_token = [redacted]" in text and "sku = 'SKU-1'" in text
    assert "session_id = [redacted]" in text and "customer_tier = gold" in text


async def test_breadcrumbs_request_tags_release(shop_repo: Path) -> None:
    text = await run_tool(ToolContext(worktree=shop_repo, event=shop_event()))
    assert "== Breadcrumbs (oldest first, the last 15 of 20) ==" in text
    assert "crumb-4:" not in text and "crumb-4 " not in text
    shown = re.findall(r"crumb-(\d+)", text)
    assert shown == [str(i) for i in range(5, 20)]
    assert "release: shop@1a2b3c4d | environment: production" in text
    assert "== Request (headers, cookies and body omitted) ==" in text
    assert "server_name = web-1" in text


async def test_tool_needs_an_event(tmp_path: Path) -> None:
    outcome = await call_tool(Registry([get_stacktrace]), ToolContext(worktree=tmp_path), "get_stacktrace", {})
    assert outcome.is_error and "no error event" in outcome.text
    schema = get_stacktrace.input_schema()
    assert schema["properties"]["include_library_frames"]["default"] is False


async def test_mapper_is_cached_per_worktree(shop_repo: Path) -> None:
    ctx = ToolContext(worktree=shop_repo, event=shop_event(), source_root="")
    await run_tool(ctx)
    assert ctx.frame_mapper is not None
    mapper = ctx.frame_mapper[1]
    await run_tool(ctx)
    assert ctx.frame_mapper[1] is mapper


# ---- real fixtures ------------------------------------------------------------------------------------------


async def test_glitchtip_event_with_its_repository(shared_dir: Path, tmp_path: Path) -> None:
    event = load(shared_dir, "glitchtip-oss-sentry-python_zero_division.json")
    wt = make_worktree(tmp_path / "glitchtip", {"errors/views.py": VIEWS_PY, "errors/__init__.py": ""})
    text = await run_tool(ToolContext(worktree=wt, event=event))
    # Every frame is marked not in-app, so nothing is hidden (as in Sentry's UI).
    assert "(no frame is marked as application code, so all frames are shown)" in text
    assert "#6 get — errors/views.py:18 (library per the SDK, but the file is in the repository)   <== CRASH" in text
    assert re.search(r"^   >    18 \|         0/0$", text, re.M)
    assert re.search(r"^        13 \|     template_name = \"home.html\"$", text, re.M)
    assert "source from the event" not in text.split("#6 get")[1]
    assert "GET http://localhost:8001/divide-zero/" in text and "query: foo=bar&foo=bars&lol=ha" in text
    assert "User-Agent" not in text and "Mozilla" not in text.split("== Tags ==")[0]


async def test_java_chain_from_fixture(shared_dir: Path, tmp_path: Path) -> None:
    event = load(shared_dir, "sentry-grouping-chained-exception-java.json")
    source = "\n".join(f"// {n}" for n in range(1, 8)) + (
        "\n    @Override protected void onDestroy() {\n        super.onDestroy();\n    }\n"
    )
    wt = make_worktree(tmp_path / "android", {"app/src/main/java/com/example/MainActivity.java": source})
    text = await run_tool(ToolContext(worktree=wt, event=event))
    assert "Exception 1 of 2 (innermost cause): RemoteException" in text
    assert "(no stack frames for this exception)" in text
    assert "app/src/main/java/com/example/MainActivity.java:9 (reported as MainActivity.java)" in text
    assert re.search(r"^   >     9 \|         super.onDestroy\(\);$", text, re.M)


@pytest.mark.parametrize(
    "name",
    [
        "glitchtip-oss-sentry-python_zero_division.json",
        "sentry-sample-python-modern.json",
        "sentry-mcp-event-javascript.json",
        "api-schema-latest-event-javascript.json",
        "sentry-grouping-chained-exception-java.json",
        "sentry-grouping-go-pkg-mod.json",
        "glitchtip-oss-sentry-go_file_not_found.json",
        "glitchtip-oss-sentry-dotnet_divide_zero.json",
        "glitchtip-oss-sentry-elixir_error.json",
        "sentry-sample-php.json",
        "sentry-sample-ruby.json",
    ],
)
def test_render_without_a_repository(shared_dir: Path, name: str) -> None:
    """What `autofixer event show` prints: no mapper, no worktree, source from the event."""
    event = load(shared_dir, name)
    text = render_event(event)
    assert text.startswith(f"Event {event.id}")
    assert event.error_type in text
    assert "(not in repo)" not in text and "ambiguous" not in text
    assert "<== CRASH" in text or not event.stack_trace
    if event.stack_trace and event.stack_trace[-1].context_line:
        assert "source from the event's context lines" in text


def test_python_modern_cli_render(shared_dir: Path) -> None:
    text = render_event(load(shared_dir, "sentry-sample-python-modern.json"))
    assert "#2 main — /Users/user/test/main.py:26   <== CRASH" in text
    assert "mechanism: excepthook, unhandled" in text


# ---- bounds and hostile input ---------------------------------------------------------------------------------


def test_long_stacks_are_truncated_keeping_the_crash_end() -> None:
    frames = [StackFrame(filename=f"app/m{i}.py", function=f"f{i}", line_no=i + 1, in_app=True) for i in range(120)]
    event = ErrorEvent(id="e", exceptions=[ExceptionInfo(type="RecursionError", value="deep", frames=frames)])
    text = render_event(event, FrameMapper([]))
    assert "[80 frames omitted to keep this short (the stack has 120 shown frames)]" in text
    assert "#1 f0 " in text and "#10 f9 " in text and "#11 f10 " not in text
    assert "#91 f90 " in text and "#120 f119 " in text and "<== CRASH" in text
    assert len(re.findall(r"^  #\d+ ", text, re.M)) == 40


def test_hostile_text_cannot_fake_lines_and_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("TOP SECRET HOST FILE\n" * 30)
    wt = tmp_path / "wt"
    wt.mkdir()
    (wt / "app").mkdir()
    (wt / "app/evil.py").symlink_to(outside)
    frame = StackFrame(abs_path="/srv/app/evil.py", function="x\n== Tags ==\n  fake = 1", line_no=3, in_app=True,
                       context_line="event line")
    event = ErrorEvent(id="e", exceptions=[ExceptionInfo(type="E\nvil", value="v", frames=[frame])])
    text = render_event(event, FrameMapper(["app/evil.py"]), wt)
    assert "TOP SECRET" not in text
    assert "event line" in text and "source from the event" in text
    assert not re.search(r"^== Tags ==", text, re.M) and "vil" in text and "\nvil" not in text
    assert "#1 x == Tags == fake = 1 — app/evil.py:3" in text


def test_line_past_end_of_file_says_the_code_differs(tmp_path: Path) -> None:
    wt = make_worktree(tmp_path / "wt", {"app/a.py": "one\ntwo\n"})
    frame = StackFrame(abs_path="/srv/app/a.py", line_no=50, in_app=True, context_line="boom()")
    event = ErrorEvent(id="e", exceptions=[ExceptionInfo(type="E", frames=[frame])])
    text = render_event(event, FrameMapper(wt), wt)
    assert "line 50 is past the end of app/a.py, which has 2 lines" in text
    assert re.search(r"^   >    50 \| boom\(\)$", text, re.M)


def test_events_without_exceptions() -> None:
    thread = ErrorEvent(
        id="t", message="worker stalled", thread_frames=[StackFrame(filename="w.py", function="loop", in_app=True)]
    )
    text = render_event(thread)
    assert "Message: worker stalled" in text and "== Thread stack" in text and "#1 loop — w.py" in text
    assert "carries no exception and no stack trace" in render_event(ErrorEvent(id="m", message="hi"))


def test_scrub_helpers() -> None:
    assert scrub_query("a=1&password=x&sig=2") == "a=1&password=[redacted]&sig=2"
    assert scrub_url("https://u:p@h/x?access_token=t&q=1") == "https://h/x?access_token=[redacted]&q=1"


def test_long_exception_chains_keep_both_ends() -> None:
    excs = [ExceptionInfo(type=f"E{i}", value=str(i)) for i in range(15)]
    text = render_event(ErrorEvent(id="e", exceptions=excs))
    for i in (0, 1, 2, 8, 14):
        assert f"Exception {i + 1} of 15" in text
    assert "Exception 4 of 15" not in text and "Exception 8 of 15" not in text
    assert "[5 exceptions in the middle of the chain omitted]" in text
    assert "Exception 15 of 15 (reported exception): E14" in text
    assert render_event(ErrorEvent(id="")).startswith("Event (no id)")


async def test_monorepo_source_root_reaches_the_mapping(tmp_path: Path) -> None:
    views = "def index(request):\n    return 1 / 0\n"
    wt = make_worktree(tmp_path / "wt", {"services/a/app/views.py": "# service a\n" + views,
                                         "services/b/app/views.py": "# service b\n" + views})
    frame = StackFrame(abs_path="/srv/app/views.py", function="index", line_no=3, in_app=True)
    event = ErrorEvent(id="e", exceptions=[ExceptionInfo(type="ZeroDivisionError", value="division by zero",
                                                         frames=[frame])])
    text = await run_tool(ToolContext(worktree=wt, event=event, source_root="services/b/"))
    assert "services/b/app/views.py:3" in text and "ambiguous" not in text
    without = await run_tool(ToolContext(worktree=wt, event=event))
    assert "(ambiguous: services/a/app/views.py, services/b/app/views.py)" in without
