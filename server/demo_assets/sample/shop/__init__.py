"""Order pricing service for the online shop."""

__version__ = "1.4.2"
