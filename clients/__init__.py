"""Everything that talks to an upstream: transports, auth, typed payloads, the error tree.

Nothing here imports Strawberry; nothing outside this package sees aiohttp or gql exceptions.
"""
