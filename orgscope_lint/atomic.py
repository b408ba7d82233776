"""Replace a file's bytes atomically: a reader (or a crash, or Ctrl-C) sees
either the old file or the new one, never a half-written one."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile


def write_atomic(path: str, data: bytes) -> None:
    """Write `data` to a temporary file in the same directory (same file
    system, so the final rename is atomic), give it the original's mode, and
    rename it over the original. A symlink is followed, not replaced."""
    target = os.path.realpath(path)
    mode = stat.S_IMODE(os.stat(target).st_mode)
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.",
                                     suffix=".orgscope-tmp", dir=os.path.dirname(target))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:  # including KeyboardInterrupt: never leave the temporary behind
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
