"""PostgreSQL: the system of record. Migrations and pool construction shared by the API, workers and CLI."""
