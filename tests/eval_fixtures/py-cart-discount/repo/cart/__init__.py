"""Shopping-cart totals."""
