"""API keys and the caller they resolve to."""
