"""What a request's upstream calls did: the attempt in flight, which counts the transport's answers
in its upstream's instruments, and the request's record, which its log event is made from."""

from __future__ import annotations

from contextvars import ContextVar, Token
from types import TracebackType

from clients.instruments import UpstreamInstruments
from clients.telemetry import OTHER

_STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


def status_class(status: int) -> str:
    return _STATUS_CLASSES[status // 100 - 1] if 100 <= status < 600 else OTHER


ANY_ROUTE = "*"
"""The route of a call made without one (a pipeline used on its own)."""


class AttemptState:
    """One attempt in flight: whose it is, and how many HTTP answers it got (an auth flow may
    send a request again after a 401). Entered, it is the current attempt of its task. A plain
    class: compiled, its ``__init__`` is native (a dataclass keeps the generated Python one)."""

    def __init__(self, instruments: UpstreamInstruments, route: str) -> None:
        self.instruments = instruments
        self.route = route
        self.answers = 0
        self._token: Token[AttemptState | None] | None = None

    def __enter__(self) -> AttemptState:
        self._token = _attempt.set(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._token is not None:
            _attempt.reset(self._token)


_attempt: ContextVar[AttemptState | None] = ContextVar("mobius_upstream_attempt", default=None)


def attempting(instruments: UpstreamInstruments, route: str) -> AttemptState:
    """Around one attempt: the transport's ``answered`` calls inside it (same task) count here."""
    return AttemptState(instruments, route)


def answered(status: int, duration_s: float) -> None:
    """The transport got an answer with ``status``, ``duration_s`` after sending the request."""
    state = _attempt.get()
    if state is not None:
        state.answers += 1
        state.instruments.request(state.route, status_class(status), duration_s)


class UpstreamCall:
    """One upstream call of a request, for its log event. ``outcome`` is ``ok`` or the error code
    the caller saw. A plain class: compiled, its ``__init__`` is native (a dataclass keeps the
    generated Python one), and every upstream call of a request makes one."""

    def __init__(self, upstream: str, route: str, duration_ms: float, outcome: str, attempts: int) -> None:
        self.upstream = upstream
        self.route = route
        self.duration_ms = duration_ms
        self.outcome = outcome
        self.attempts = attempts


class RequestRecord:
    """What one request did, gathered for its log event by each layer as it happens. A plain
    class: compiled, its ``__init__`` is native (a dataclass keeps the generated Python one)."""

    def __init__(
        self,
        *,
        error_codes: set[str] | None = None,
        query: str | None = None,
        operation_name: str | None = None,
        operation_type: str | None = None,
        caller: str | None = None,
        trace_id: str | None = None,
        cache: str | None = None,
    ) -> None:
        self.upstream_calls: list[UpstreamCall] = []
        self.error_codes: set[str] = set() if error_codes is None else error_codes
        self.query = query
        self.operation_name = operation_name
        self.operation_type = operation_type
        self.caller = caller
        self.trace_id = trace_id
        self.cache = cache
        """The response cache's verdict (``HIT``, ``MISS``, ``BYPASS``) where it was asked."""


_record: ContextVar[RequestRecord | None] = ContextVar("mobius_request_record", default=None)


class Recording:
    """Entered, a new record is the request's (tasks it starts inherit it) until the exit."""

    def __init__(self) -> None:
        self.record = RequestRecord()
        self._token: Token[RequestRecord | None] | None = None

    def __enter__(self) -> RequestRecord:
        self._token = _record.set(self.record)
        return self.record

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._token is not None:
            _record.reset(self._token)


def recording() -> Recording:
    """Gather what happens below the server for one request (a class, not a generator: compiled,
    entering and leaving it are two native calls)."""
    return Recording()


def current_record() -> RequestRecord | None:
    return _record.get()
