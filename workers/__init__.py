"""arq workers: the outbox processor, the reconciler and the scheduled jobs."""
