"""Two-way ranked matches with reasons: `GET /v1/jobs/{id}/matches`, `GET /v1/workers/{id}/matches`."""
