"""The MCP server: the agent's tools plus the triage-only ones, over stdio or streamable HTTP."""
