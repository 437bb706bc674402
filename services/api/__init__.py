"""The public HTTP API (FastAPI). Build it with `services.api.app.create_app(settings)`."""
