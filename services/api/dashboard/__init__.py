"""The authorities' dashboard page (/dashboard) and its static files."""
