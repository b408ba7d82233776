"""A progress bar on stderr that appears only when a run is slow enough to
need one (about a second) and stderr is a terminal: fast runs and pipes stay
quiet."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

DELAY_SECONDS = 1.0


class DelayedProgress:
    def __init__(self, stream: Optional[TextIO] = None, delay: float = DELAY_SECONDS,
                 force: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.delay = delay
        self.enabled = force or self.stream.isatty()
        self.started = time.monotonic()
        self._progress = None
        self._task = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            if time.monotonic() - self.started < self.delay or done >= total:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
            self._progress = Progress(
                TextColumn("checking"), BarColumn(), MofNCompleteColumn(),
                console=Console(file=self.stream), transient=True)
            self._progress.start()
            self._task = self._progress.add_task("check", total=total)
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    @property
    def shown(self) -> bool:
        return self._progress is not None
