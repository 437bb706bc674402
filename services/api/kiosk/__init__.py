"""Kiosk search and typeahead (`GET /v1/kiosk/search`, `GET /v1/kiosk/suggest`)."""
