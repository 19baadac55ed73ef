"""bench.wakeups' readings: strace's summary table, the scheduler's runtime and context
switches of a process's threads, and its page faults."""

from __future__ import annotations

import mmap
import os
import threading

from bench.wakeups import page_faults, parse_strace_summary, runtime_ms, switches

SUMMARY = """\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 61.20    0.010480           3      2964           getpid
 20.10    0.003442           9       373           epoll_pwait
 10.00    0.001712           8       200           write
  8.70    0.001490           9       161        12 read
------ ----------- ----------- --------- --------- ----------------
100.00    0.017124           4      3698        12 total
"""


def test_parse_strace_summary_counts_calls_by_syscall_with_or_without_errors() -> None:
    assert parse_strace_summary(SUMMARY) == {"getpid": 2964, "epoll_pwait": 373, "write": 200, "read": 161}


def test_runtime_and_switches_cover_every_thread_of_the_process() -> None:
    parked = threading.Event()
    thread = threading.Thread(target=parked.wait, name="parked")
    thread.start()
    try:
        assert runtime_ms([os.getpid()]) > 0
        threads = switches([os.getpid()])
        assert len(threads) >= 2
        assert all(count >= 0 for count in threads.values())
    finally:
        parked.set()
        thread.join()


def test_page_faults_count_the_pages_a_process_touches_for_the_first_time() -> None:
    pages = 64
    with mmap.mmap(-1, pages * mmap.PAGESIZE) as fresh:  # mapped, not yet backed by memory
        before_minor, _ = page_faults([os.getpid()])
        for page in range(pages):
            fresh[page * mmap.PAGESIZE] = 1
        after_minor, _ = page_faults([os.getpid()])
    assert after_minor - before_minor >= pages
