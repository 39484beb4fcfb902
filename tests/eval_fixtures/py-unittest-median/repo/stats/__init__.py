"""Latency statistics."""
