"""The benchmark's /proc reading: stat lines with awkward command names, and process trees."""

from __future__ import annotations

import os

from bench.procstat import CLOCK_TICKS_PER_S, PAGE_BYTES, ProcStat, descendants, parse_stat, tree_usage, usage_of


def stat_line(pid: int, comm: str, *, ppid: int, utime: int, stime: int, rss: int) -> str:
    # Fields 3.. of proc(5): state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
    # utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...
    rest = [
        "S", str(ppid), "1", "1", "0", "-1", "4194560", "10", "0", "0", "0",
        str(utime), str(stime), "99", "98", "20", "0", "1", "0", "12345", "1000000", str(rss), "18446744073709551615",
    ]  # fmt: skip
    return f"{pid} ({comm}) " + " ".join(rest) + "\n"


def test_parse_stat_reads_cpu_and_rss_and_ignores_children_time() -> None:
    stat = parse_stat(stat_line(42, "python3", ppid=7, utime=150, stime=50, rss=2048))
    assert stat == ProcStat(pid=42, ppid=7, utime_ticks=150, stime_ticks=50, rss_pages=2048)
    assert stat.cpu_ticks == 200


def test_parse_stat_survives_spaces_and_parentheses_in_the_command_name() -> None:
    stat = parse_stat(stat_line(9, "node (worker) 1", ppid=3, utime=5, stime=6, rss=7))
    assert (stat.pid, stat.ppid, stat.utime_ticks, stat.stime_ticks, stat.rss_pages) == (9, 3, 5, 6, 7)


def test_descendants_collects_the_whole_tree_and_nothing_else() -> None:
    stats = [
        ProcStat(1, 0, 0, 0, 0),
        ProcStat(10, 1, 100, 0, 10),  # the root under test
        ProcStat(11, 10, 50, 50, 20),  # a worker
        ProcStat(12, 11, 1, 1, 1),  # a worker's helper
        ProcStat(20, 1, 999, 999, 999),  # a sibling that must not count
    ]
    tree = descendants(10, stats)
    assert sorted(stat.pid for stat in tree) == [10, 11, 12]
    usage = tree_usage(tree)
    assert usage.cpu_s == 202 / CLOCK_TICKS_PER_S
    assert usage.rss_bytes == 31 * PAGE_BYTES
    assert usage.processes == 3
    assert usage.largest_rss_bytes == 20 * PAGE_BYTES


def test_descendants_of_a_gone_process_is_empty() -> None:
    assert descendants(5, [ProcStat(1, 0, 0, 0, 0)]) == []


def test_usage_of_this_process_is_read_from_proc() -> None:
    usage = usage_of(os.getpid())
    assert usage.processes >= 1
    assert usage.rss_bytes > 0
    assert usage.cpu_s > 0
