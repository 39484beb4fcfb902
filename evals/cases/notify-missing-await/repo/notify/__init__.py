"""Shipment notifications."""
