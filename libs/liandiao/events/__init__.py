"""Events: topic naming, the transactional outbox and its relay, idempotent
consumption with bounded retries and dead-letter topics."""
