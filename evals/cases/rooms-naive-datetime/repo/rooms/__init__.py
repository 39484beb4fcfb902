"""Meeting-room bookings."""
