"""The service: webhooks, the durable fix pipeline, the CLI and the configuration."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # Looked up on first use (the MCP server's handshake), not at import: reading the installed
    # package's metadata costs `autofixer --help` a third of its time.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("autofixer")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0.0.0"
