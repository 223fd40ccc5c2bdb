"""``--watch``: run again whenever a checked file (or a configuration file) changes, as
``ruff check --watch``. Polling, so it needs nothing beyond the standard library."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable

POLL_SECONDS = 0.3


def snapshot(paths: Iterable[str]) -> dict[str, tuple[int, int]]:
    state = {}
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue
        state[path] = (info.st_mtime_ns, info.st_size)
    return state


def watch(once: Callable[[], int], watched: Callable[[], Iterable[str]]) -> int:
    """Run ``once``, then again after every change to the files ``watched`` lists (a file that
    appears or disappears counts), until interrupted."""
    clear = sys.stdout.isatty()
    print("Starting logitlint in watch mode...", flush=True)
    while True:
        if clear:
            sys.stdout.write("\033[2J\033[H")
        once()
        before = snapshot(watched())
        print(f"[{time.strftime('%H:%M:%S')}] Watching for file changes.", flush=True)
        while snapshot(watched()) == before:
            time.sleep(POLL_SECONDS)
        settled(watched)


def settled(watched: Callable[[], Iterable[str]]) -> None:
    """Wait until the files stop changing for one poll, so that a run never reads a file (or a
    configuration) an editor is still writing."""
    current = snapshot(watched())
    while True:
        time.sleep(POLL_SECONDS)
        later = snapshot(watched())
        if later == current:
            return
        current = later
