"""The shop's checkout."""
