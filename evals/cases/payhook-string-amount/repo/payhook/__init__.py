"""Payment-provider webhooks."""
