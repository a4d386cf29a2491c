"""Domain events: the outbox written in the transaction of each change, for the coordination relay."""
