"""Per-request loaders: one generic ``ReadLoader`` per declared read (``clients.declaration``),
created on a request's first use of that read and kept on its context.

A batch honours the DataLoader contract (one answer per key, in key order; ``None`` for not
found; an exception instance for a key that failed, so one bad key does not fail its batch
neighbours) and goes through the cache when there is one: cached keys are answered from it, only
the misses reach the upstream (one batch). What a read declares is applied here for every read:
values prime the sibling reads they carry, answers of other reads that came in the same request
are primed (and cached), and the keys a value is handed out with are loaded first.

A value a loader holds before anyone waits for it (primed by another read's answer, or fresh in
the cache's first level) is kept as it is; ``ReadLoader.answered`` reads it (the executor's fields
answered at once, ``schema.ready``), and a future is made only when the key is loaded.

A request can also ask to hear of an answer before it is handed out (``Loaders.then``): what the
query will read next from it (the users a projects page names) is then loaded, and goes upstream,
before any field waiting for that answer resumes (``schema.selection``, ``read_from``).
"""

from resolvers.loaders.read_loader import UNANSWERED, ReadLoader
from resolvers.loaders.reads import Reads
from resolvers.loaders.request import Loaders, Then
from resolvers.loaders.sources import Source, cache_type, declared_cache_types
from resolvers.loaders.waiting import when_done

__all__ = [
    "UNANSWERED",
    "Loaders",
    "ReadLoader",
    "Reads",
    "Source",
    "Then",
    "cache_type",
    "declared_cache_types",
    "when_done",
]
