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
import hmac
import os
import pickle
import tempfile
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
        try:
            blob = self.path.read_bytes()
        except OSError:
            return None
        header = len(_MAGIC) + 32
        if len(blob) <= header or not blob.startswith(_MAGIC):
            return None
        mac, payload = blob[len(_MAGIC):header], blob[header:]
        if not hmac.compare_digest(mac, hmac.new(self.secret, payload, "sha256").digest()):
            return None
        try:
            key, result = pickle.loads(payload)
        except Exception:  # an entry from an incompatible build
            return None
        return result if key == self.key else None

    def save(self, result) -> None:
        try:
            payload = pickle.dumps((self.key, result), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            return
        mac = hmac.new(self.secret, payload, "sha256").digest()
        try:
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(_MAGIC + mac + payload)
                os.replace(temp, self.path)
            except BaseException:
                try:
                    os.unlink(temp)
                except OSError:
                    pass
                raise
        except OSError:
            pass
