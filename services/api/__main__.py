"""`python -m services.api`: serve the API with uvicorn (HOST/PORT from the settings)."""

from __future__ import annotations

import uvicorn

from services.api.app import create_app
from services.api.settings import load_api_settings


def main() -> None:
    settings = load_api_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, access_log=False,
                log_config=None, proxy_headers=False)


if __name__ == "__main__":
    main()
