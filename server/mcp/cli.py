"""The `autofixer mcp` sub-command's arguments; the server is imported only when it runs, so
the rest of the CLI does not pay for loading the MCP SDK."""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_IDLE_MINUTES = 30.0


def add_mcp_parser(sub: Any) -> argparse.ArgumentParser:
    """Register `mcp` on the CLI's sub-parsers (`sub` is argparse's _SubParsersAction)."""
    mcp = sub.add_parser(
        "mcp", help="serve the triage tools over MCP (stdio for Claude Desktop / Claude Code, or --http)",
        description="Serve the agent's tools over the Model Context Protocol, plus list_issues, get_issue, "
        "open_pull_request, run_autofix and get_fix_status. stdio by default; --http serves streamable HTTP "
        "on loopback (beyond loopback AUTOFIXER_MCP_TOKEN is required; when set it is always required).",
    )
    mcp.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    mcp.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    mcp.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_MINUTES, metavar="MINUTES",
                     help="remove an issue's checkout after this many idle minutes (default 30; 0: keep until exit)")
    mcp.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                     help="log level (logs go to stderr)")
    mcp.set_defaults(func=run_mcp)
    return mcp


def run_mcp(args: argparse.Namespace) -> int:
    from server.mcp.server import McpOptions, main

    if args.idle_timeout < 0:
        raise SystemExit("autofixer: --idle-timeout must be 0 or more minutes")
    options = McpOptions(http=args.http, host=args.host, port=args.port, idle_timeout=args.idle_timeout * 60)
    return main(args.config, options, args.log_level)
