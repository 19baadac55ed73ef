"""Everything that talks to an upstream: transports, auth, typed payloads, the error tree.

Nothing here imports Strawberry; nothing outside this package sees aiohttp or gql exceptions.
"""

from clients._native import select

select()  # before any compiled module is imported
