"""The Django pre-pass result, kept between runs beside the result cache.

The pre-pass reads every model, view and URL file with `ast` on every run; on
a warm run nothing changed, so its result (table facts and notes) is stored,
signed like the result cache's entries, under `.orgscope-lint-cache/` when
that directory exists (a run with the cache on creates it), keyed by the
tool's source, the effective config and the content of every file it reads.
Any change to one of those is a miss; an unreadable or foreign entry too.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional, Sequence, Tuple

_MAGIC = b"orgscope-django-prepass-1\n"


def digest(config, sources: Sequence[Tuple[str, bytes]]) -> str:
    """What the pre-pass result depends on: the effective config and every file read."""
    from ..cache import _config_digest
    found = hashlib.sha256(_config_digest(config).encode() + b"\0")
    for rel, data in sources:
        found.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return found.hexdigest()


class PrepassCache:
    def __init__(self, path: Path, key: bytes, secret: bytes) -> None:
        self.path = path
        self.key = key
        self.secret = secret

    @classmethod
    def open(cls, config, sources: Sequence[Tuple[str, bytes]]) -> Optional["PrepassCache"]:
        from ..cache import CACHE_DIR, _tool_digest, _user_secret
        directory = Path(config.root) / CACHE_DIR
        if not directory.is_dir() or not os.access(directory, os.W_OK):
            return None
        secret = _user_secret()
        if secret is None:
            return None
        key = hashlib.sha256((_tool_digest() + digest(config, sources)).encode()).digest()
        return cls(directory / "django-prepass.pickle", key, secret)

    def load(self):
        from ..cache import read_signed
        stored = read_signed(self.path, self.secret, _MAGIC)
        return stored[1] if stored is not None and stored[0] == self.key else None

    def save(self, result) -> None:
        from ..cache import write_signed
        write_signed(self.path, self.key, result, self.secret, _MAGIC)
