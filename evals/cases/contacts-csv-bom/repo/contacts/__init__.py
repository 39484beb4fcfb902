"""CSV contact import for the CRM."""
