"""Grandfather-father-son pruning of the nightly database dumps."""
