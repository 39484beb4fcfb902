"""Notifiers: tell people what a fix job did (log by default; Slack, Discord, … as connectors)."""
