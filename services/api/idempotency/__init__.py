"""`Idempotency-Key` on creating POSTs: the same key and body within the TTL returns the first response."""
