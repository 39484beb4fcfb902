"""The HTTP surface: webhook intake per source, health, metrics and the jobs API (Quart)."""
