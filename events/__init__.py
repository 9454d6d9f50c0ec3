"""Domain events: the append-only history, the transactional outbox and (soon) the broker."""
