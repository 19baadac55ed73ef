"""The resilience pipeline one upstream call goes through (see ``pipeline``):

deadline check -> rate limiter -> bulkhead -> circuit breaker -> attempt with its own timeout,
all wrapped by retry. Every part takes an injected clock so tests never sleep out a window.
"""
