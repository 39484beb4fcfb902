"""Warehouse stock levels and the reservations orders hold on them."""
