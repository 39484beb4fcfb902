"""Transactional e-mails."""
