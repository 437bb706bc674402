"""`python -m services.api`: serve the API with uvicorn (HOST/PORT from the settings)."""

from __future__ import annotations

import uvicorn

from services.api.app import create_app
from services.api.http_server import uvicorn_config
from services.api.settings import load_api_settings


def main() -> None:
    settings = load_api_settings()
    uvicorn.Server(uvicorn_config(create_app(settings), settings)).run()


if __name__ == "__main__":
    main()
