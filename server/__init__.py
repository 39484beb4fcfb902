"""The service: webhooks, the durable fix pipeline, the CLI and the configuration."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("autofixer")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"
