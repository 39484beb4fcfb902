"""A small background-job runner."""
