"""Per-file result cache in `.orgscope-lint-cache/` at the project root.

One entry per checked file holds its `FileFacts`, keyed by everything the
per-file analysis depends on: the file's path and content, the effective
configuration, the project facts handed to every worker (the schema's tenant
tables), the tool's version and source, and the Python version. Cross-file
facts are resolved later, in the project stage, from the facts of every file,
so an unchanged file is never re-parsed, even when a file it uses changed.

Safe by construction rather than by care:
- writes go to a temporary file renamed over the entry (`os.replace`), so a
  concurrent run sees either the old entry or the new one, never half of one;
- a missing, truncated, corrupt, stale or foreign entry is a miss: the file is
  analysed again and the entry rewritten; nothing the cache holds is fatal;
- entries are pickles, and unpickling runs code, so every entry is signed with
  a per-user secret kept outside the project (`~/.cache/orgscope-lint/`); a
  cache directory committed to a repository under review is never trusted;
- when the root or the user cache directory is not writable, the run goes on
  without a cache, silently.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import json
import os
import pickle
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Tuple

from . import __version__
from .config import Config
from .facts import FileFacts

CACHE_DIR = ".orgscope-lint-cache"
_MAGIC = b"OSLC\x01"
_MAC_SIZE = 32


def read_signed(path, secret: bytes, magic: bytes = _MAGIC) -> Optional[Tuple[Any, Any]]:
    """(key, value) of a signed pickle written by `write_signed`, or None when
    the file is missing, foreign, tampered with or from an incompatible build."""
    try:
        with open(path, "rb") as handle:
            blob = handle.read()
    except OSError:
        return None
    header = len(magic) + _MAC_SIZE
    if len(blob) <= header or not blob.startswith(magic):
        return None
    mac, payload = blob[len(magic):header], blob[header:]
    if not hmac.compare_digest(mac, hmac.new(secret, payload, "sha256").digest()):
        return None
    try:
        stored = pickle.loads(payload)
    except Exception:  # a signed entry from an incompatible build of the classes
        return None
    return stored if isinstance(stored, tuple) and len(stored) == 2 else None


def write_signed(path, key: Any, value: Any, secret: bytes, magic: bytes = _MAGIC) -> bool:
    """Atomically write (key, value) as a signed pickle; False when it cannot
    be pickled or written (the caller goes on without the entry)."""
    try:
        payload = pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # facts that do not pickle: no entry
        return True
    mac = hmac.new(secret, payload, "sha256").digest()
    try:
        fd, temp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(magic + mac + payload)
            os.replace(temp, path)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise
    except OSError:
        return False
    return True

Item = Tuple[str, Optional[str], Optional[bytes]]  # (relative path, absolute path, data)


@functools.lru_cache(maxsize=1)
def _tool_digest() -> str:
    """Version, Python version and the package's own source: a development
    edit of a rule invalidates entries even though the version did not move."""
    digest = hashlib.sha256(f"{__version__}\0{sys.version}".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"?")
    return digest.hexdigest()


def _config_digest(config: Config) -> str:
    """The config file's fingerprint plus the effective settings, which the
    command line can change (`--strict`) without touching the file."""
    settings = dataclasses.asdict(config)
    for key in ("path", "root", "raw"):
        settings.pop(key, None)
    blob = json.dumps(settings, sort_keys=True, default=repr)
    return config.fingerprint() + hashlib.sha256(blob.encode()).hexdigest()


def _project_digest(project: object) -> str:
    if project is None:
        return "-"
    fingerprint = getattr(project, "fingerprint", None)
    if callable(fingerprint):
        return str(fingerprint())
    # without a fingerprint, the pickled facts themselves (a changed value
    # always changes the digest; an unstable order only costs a miss)
    return hashlib.sha256(pickle.dumps(project, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()


def _user_secret() -> Optional[bytes]:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "orgscope-lint", "cache-key")
    try:
        with open(path, "rb") as handle:
            secret = handle.read()
        if len(secret) >= 32:
            return secret
    except OSError:
        pass
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".key-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
        try:
            os.link(temp, path)  # first writer wins; a concurrent run reads its key
        except FileExistsError:
            pass
        finally:
            os.unlink(temp)
        with open(path, "rb") as handle:
            secret = handle.read()
        return secret if len(secret) >= 32 else None
    except OSError:
        return None


class ResultCache:
    """Look up and store `FileFacts` by file; see the module docstring."""

    def __init__(self, directory: Path, run_key: bytes, secret: bytes) -> None:
        self.directory = directory
        self.run_key = run_key
        self.secret = secret
        self.writable = True

    @classmethod
    def open(cls, root: Path, config: Config, project: object = None) -> Optional["ResultCache"]:
        """The cache of `root`, or None when it cannot be used."""
        directory = Path(root) / CACHE_DIR
        try:
            directory.mkdir(exist_ok=True)
            ignore = directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# written by orgscope-lint\n*\n", encoding="utf-8")
            if not os.access(directory, os.W_OK):
                return None
        except OSError:
            return None
        secret = _user_secret()
        if secret is None:
            return None
        run_key = "\0".join((_tool_digest(), _config_digest(config),
                             _project_digest(project))).encode()
        return cls(directory, hashlib.sha256(run_key).digest(), secret)

    def _entry(self, path: str) -> Path:
        return self.directory / (hashlib.sha256(path.encode()).hexdigest()[:40] + ".pickle")

    def key_for(self, path: str, data: bytes) -> bytes:
        digest = hashlib.sha256(self.run_key)
        digest.update(path.encode())
        digest.update(b"\0")
        digest.update(data)
        return digest.digest()

    def lookup(self, item: Item) -> Tuple[Item, Optional[bytes], Optional[FileFacts]]:
        """(the item with its content read, its key or None when the file
        cannot be read, the cached facts or None)."""
        path, abs_path, data = item
        if data is None:
            try:
                with open(abs_path or path, "rb") as handle:
                    data = handle.read()
            except OSError:
                return item, None, None  # the analysis reports why
        key = self.key_for(path, data)
        return (path, abs_path, data), key, self._read(path, key)

    def _read(self, path: str, key: bytes) -> Optional[FileFacts]:
        stored = read_signed(self._entry(path), self.secret)
        if stored is None:
            return None
        stored_key, facts = stored
        if stored_key != key or not isinstance(facts, FileFacts) or facts.path != path:
            return None
        return facts

    def store(self, key: Optional[bytes], facts: FileFacts) -> None:
        """Write an entry (not for results of an internal error: a bug fix
        must not be hidden behind a cached crash)."""
        if key is None or facts.internal_error or not self.writable:
            return
        if not write_signed(self._entry(facts.path), key, facts, self.secret):
            self.writable = False  # disk full, permissions changed: carry on without


def project_facts(root: Optional[Path], config: Config, name: str,
                  files: Sequence[Item], compute: Callable[[], Any]) -> Any:
    """A preset's `project()` facts, from `project-<name>.json` in the cache
    when the files it reads (paths and bytes), the config and the tool are
    those it was computed from; else computed and stored. Plain JSON: nothing
    in it runs, so it needs no signature."""
    if root is None:
        return compute()
    digest = hashlib.sha256(f"{name}\0{_config_digest(config)}\0{_tool_digest()}".encode())
    for path, _absolute, data in sorted(files, key=lambda item: item[0]):
        digest.update(path.encode() + b"\0" + hashlib.sha256(data or b"").digest())
    key = digest.hexdigest()
    target = Path(root) / CACHE_DIR / f"project-{name}.json"
    try:
        stored = json.loads(target.read_text(encoding="utf-8"))
        if isinstance(stored, dict) and stored.get("key") == key:
            return stored.get("facts")
    except (OSError, ValueError):
        pass
    facts = compute()
    try:
        target.parent.mkdir(exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".project-", dir=str(target.parent))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"key": key, "facts": facts}, handle)
        os.replace(temporary, target)
    except (OSError, TypeError, ValueError):  # an unwritable cache costs speed only
        pass
    return facts
