"""CPU time and resident memory of a process tree, read from /proc."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of one `/proc/<pid>/stat` line the benchmark needs."""

    pid: int
    ppid: int
    utime_ticks: int
    stime_ticks: int
    rss_pages: int

    @property
    def cpu_ticks(self) -> int:
        return self.utime_ticks + self.stime_ticks


def parse_stat(line: str) -> ProcStat:
    """Parse a stat line; the command name may itself hold spaces and parentheses."""
    pid_text, _, rest = line.partition(" (")
    fields = rest[rest.rindex(")") + 2 :].split()
    # fields[0] is field 3 of proc(5) (state): field n lives at fields[n - 3].
    return ProcStat(
        pid=int(pid_text),
        ppid=int(fields[1]),
        utime_ticks=int(fields[11]),
        stime_ticks=int(fields[12]),
        rss_pages=int(fields[21]),
    )


def descendants(root: int, stats: Iterable[ProcStat]) -> list[ProcStat]:
    """`root` and every process below it (by parent pid), from one snapshot of all processes."""
    by_parent: dict[int, list[ProcStat]] = {}
    by_pid: dict[int, ProcStat] = {}
    for stat in stats:
        by_pid[stat.pid] = stat
        by_parent.setdefault(stat.ppid, []).append(stat)
    if root not in by_pid:
        return []
    tree = [by_pid[root]]
    index = 0
    while index < len(tree):
        tree.extend(by_parent.get(tree[index].pid, ()))
        index += 1
    return tree


@dataclass(frozen=True, slots=True)
class TreeUsage:
    cpu_s: float
    rss_bytes: int
    processes: int
    largest_rss_bytes: int = 0
    """The RSS of the tree's largest process: a worker's, whatever supervises it."""


def tree_usage(tree: Iterable[ProcStat]) -> TreeUsage:
    members = list(tree)
    return TreeUsage(
        cpu_s=sum(stat.cpu_ticks for stat in members) / CLOCK_TICKS_PER_S,
        rss_bytes=sum(stat.rss_pages for stat in members) * PAGE_BYTES,
        processes=len(members),
        largest_rss_bytes=max((stat.rss_pages for stat in members), default=0) * PAGE_BYTES,
    )


def snapshot(proc: Path = Path("/proc")) -> list[ProcStat]:
    """Every process's stat; processes that exit while being read are skipped."""
    stats: list[ProcStat] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stats.append(parse_stat((entry / "stat").read_text()))
        except (OSError, ValueError, IndexError):
            continue
    return stats


def usage_of(root: int) -> TreeUsage:
    """CPU seconds and RSS of `root`'s process tree right now."""
    return tree_usage(descendants(root, snapshot()))
