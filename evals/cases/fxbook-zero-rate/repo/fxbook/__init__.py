"""Daily FX booking of foreign-currency sales."""
