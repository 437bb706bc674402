"""PostgreSQL rows → Meilisearch documents (public and matching fields only), kept in sync through the outbox."""
