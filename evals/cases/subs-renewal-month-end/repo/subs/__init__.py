"""Monthly subscriptions: who renews when."""
