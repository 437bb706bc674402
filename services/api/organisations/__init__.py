"""Organisations (brokers, enterprises, kiosks, authorities, admins) and their API keys."""
