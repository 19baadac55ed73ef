"""What log redaction costs per call, on ordinary text and on text built to stall a regex.

    .venv/bin/python -m bench.redaction_cost [--sizes 1000,10000,100000,1000000] [--budget-s 10]

Each case is a string of each size given to ``mobius.logging.redact_text``; a case reports the best
of a few calls in microseconds. A case whose single call takes longer than ``--budget-s`` is run in
a child process that is stopped at the budget and reported as ``> budget``, so a quadratic pattern
is shown without waiting for it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Callable

from mobius.logging import redact_text

CASES: dict[str, Callable[[int], str]] = {
    "ordinary log line": lambda size: ("GET /v1/users?ids=user-1,user-2 answered 200 in 3 ms; " * size)[:size],
    "long unknown key": lambda size: "a" * size + "=1",
    "hyphenated word run": lambda size: ("a-" * size)[:size] + "=",
    "token-like repeats": lambda size: ("token" * size)[:size],
    "JWT-like prefixes": lambda size: ("eyJ-" * size)[:size],
    "hex run then a letter": lambda size: "f" * size + "g",
    "Bearer repeats": lambda size: ("Bearer " * size)[:size],
}


def best_of(text: str, calls: int = 3) -> float:
    best = float("inf")
    for _ in range(calls):
        started = time.perf_counter()
        redact_text(text)
        best = min(best, time.perf_counter() - started)
    return best


def _child(case: str, size: int, queue: multiprocessing.Queue[float]) -> None:
    queue.put(best_of(CASES[case](size)))


def measure(case: str, size: int, budget_s: float) -> float | None:
    """Seconds per call, or ``None`` when one call did not finish within the budget."""
    queue: multiprocessing.Queue[float] = multiprocessing.Queue()
    child = multiprocessing.Process(target=_child, args=(case, size, queue))
    child.start()
    child.join(budget_s)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return queue.get()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--budget-s", type=float, default=10.0)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"{'case':<24}" + "".join(f"{size:>14,}" for size in sizes))
    for case in CASES:
        cells = []
        for size in sizes:
            seconds = measure(case, size, args.budget_s)
            cells.append(f"> {args.budget_s:g} s" if seconds is None else f"{seconds * 1e6:,.0f} us")
        print(f"{case:<24}" + "".join(f"{cell:>14}" for cell in cells), flush=True)


if __name__ == "__main__":
    main()
