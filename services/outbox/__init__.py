"""The transactional outbox: work recorded in the same transaction as the change that caused it, enqueued
to arq only after commit, and re-enqueued by the reconciler if Redis or a worker lost it."""
