"""Parsing a file with libcst without letting any input take the process down.

libcst's native parser recurses on the machine stack and memoises heavily:
a few thousand levels of nesting (`((((…))))`, `-----1`, `a.b.b.b…`,
`1 + 1 + …`) overflow the 8 MB main-thread stack and kill the process with
SIGSEGV, which no `except` can catch (and which breaks a process pool), and
far below that, 3,000 nested brackets take gigabytes and minutes. Measured on
each of those shapes, CPython's own parser refuses them cleanly (SyntaxError
"too many nested parentheses", RecursionError, MemoryError) at lower depths
and ten times faster than libcst parses, so:

- every file first goes through `ast.parse`; a nesting refusal is the file's
  verdict (ORG001), and libcst never sees it. Any other CPython syntax error
  is left to libcst, which also knows newer syntax than the running Python
  (PEP 695 type parameters, PEP 701 f-strings, PEP 758 `except A, B:`). In a
  file over `_UNGUARDED_BYTES` CPython may have stopped at that error before
  seeing deep nesting further down, so libcst first parses it in a child
  process, where a crash costs nothing: a parse error is reported only when
  libcst's parser rejects the file too;
- the libcst parse runs in a thread with a large stack (address space only;
  pages are touched as used): a file under `_UNGUARDED_BYTES` cannot nest
  deep enough to overflow it, whatever CPython missed.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
import warnings
from typing import Callable, List, Optional, Tuple

import libcst as cst

_STACK_BYTES = 512 * 1024 * 1024
# 8 MB of stack crashed at 3,000–10,000 levels: under 2.7 KB a level. 512 MB
# then holds about 190,000 levels; smaller files cannot nest that deep.
_UNGUARDED_BYTES = 128 * 1024


class UnparsableSource(Exception):
    """CPython's parser rejects a large file; the message says where and why."""

    def __init__(self, line: int, column: int, message: str, nesting: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message
        self.nesting = nesting  # refused for its depth, not for its syntax


_NESTING_REFUSALS = ("too many nested", "too many levels of indentation",
                     "too many statically nested blocks")


def _cpython_verdict(text: str, strict: bool) -> None:
    """Raise `UnparsableSource` when CPython refuses the nesting (or, when
    `strict`, anything at all)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as error:
        nesting = any(refusal in (error.msg or "") for refusal in _NESTING_REFUSALS)
        if strict or nesting:
            raise UnparsableSource(error.lineno or 1, max(error.offset or 1, 1), error.msg,
                                   nesting)
    except (RecursionError, MemoryError) as error:
        raise UnparsableSource(1, 1, f"nested too deeply to parse ({type(error).__name__})",
                               True)


def _on_large_stack(function: Callable[[], cst.Module]) -> Optional[cst.Module]:
    """The function's result, computed on a large stack; None when no such
    thread can be started (address space limits)."""
    outcome: List[Tuple[bool, object]] = []

    def target() -> None:
        try:
            outcome.append((True, function()))
        except BaseException as error:  # re-raised in the calling thread
            outcome.append((False, error))

    previous = threading.stack_size()
    try:
        threading.stack_size(_STACK_BYTES)
        thread = threading.Thread(target=target, name="orgscope-parse", daemon=True)
        thread.start()
    except (RuntimeError, ValueError, MemoryError):
        return None
    finally:
        threading.stack_size(previous)
    thread.join()
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[return-value]
    raise value  # type: ignore[misc]


# a child parse of a file up to `max-file-size` (1 MB) takes seconds
_PROBE_SECONDS = 300


def _libcst_accepts(data: bytes) -> bool:
    """Whether libcst parses `data`, tried in a child process (it may crash)."""
    code = ("import sys; from orgscope_lint.parsing import _on_large_stack; import libcst; "
            "data = sys.stdin.buffer.read(); _on_large_stack(lambda: libcst.parse_module(data))")
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (package_parent, os.environ.get("PYTHONPATH", "")) if p))
    try:
        done = subprocess.run([sys.executable, "-c", code], input=data, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=_PROBE_SECONDS)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def parse_module(data: bytes, text: str) -> cst.Module:
    """`libcst.parse_module(data)`, guarded (see the module docstring); raises
    `UnparsableSource`, or what libcst raises for a file it cannot parse."""
    large = len(data) > _UNGUARDED_BYTES

    def guarded() -> cst.Module:
        try:
            _cpython_verdict(text, strict=large)
        except UnparsableSource as refusal:
            if not large or refusal.nesting or not _libcst_accepts(data):
                raise
        return cst.parse_module(data)

    # In a fresh thread, CPython's nesting budget is the same whatever the
    # caller's stack depth: `ast.parse` counts its levels against the
    # recursion limit from the current depth, so the same file was refused
    # in a pool worker (deeper stack) and accepted in a serial run.
    module = _on_large_stack(guarded)
    if module is None:  # no large stack: only what CPython accepts is safe here
        _cpython_verdict(text, strict=True)
        module = cst.parse_module(data)
    return module
