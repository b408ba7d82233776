"""Ctrl-C at safe points only.

A KeyboardInterrupt raised at an arbitrary bytecode can land inside a C
extension's callback (pglast's parser aborted the process that way) or
between two file writes. Inside `deferred_interrupts()` SIGINT only records
that it came; the code checks `requested` between steps, and leaving the
block raises the KeyboardInterrupt it held back. Worker processes ignore
SIGINT altogether: the parent decides, and stops them.
"""
from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any, Optional


class deferred_interrupts:
    def __init__(self, reraise: bool = True) -> None:
        self.reraise = reraise
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: Optional[FrameType]) -> None:
        self.requested = True

    def __enter__(self) -> "deferred_interrupts":
        # signal handlers can only be set from the main thread
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
        if self.requested and self.reraise and kind is None:
            raise KeyboardInterrupt


def ignore_interrupts() -> None:
    """Process-pool initializer: workers leave Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
