"""Order events from the shop's outbox to the fulfilment partner."""
