"""GraphQL subscriptions: the bus events travel on, what publishes to it, and the transports
(graphql-transport-ws, legacy graphql-ws, Server-Sent Events) that deliver them (docs/subscriptions.md)."""
