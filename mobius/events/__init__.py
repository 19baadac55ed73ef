"""Events in: signed webhooks and broker messages, a durable stream, and what the worker does with them."""
