"""Reading a source file the way Python would: PEP 263 cookie, BOM, newlines."""
from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import Optional


class SourceError(Exception):
    """The file cannot be read or decoded; the message says why."""


@dataclass
class Source:
    data: bytes
    text: str
    encoding: str


# PEP 263, as the tokenizer reads it (first or second line)
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _cookie_line(data: bytes) -> Optional[int]:
    for number, line in enumerate(data.splitlines()[:2], start=1):
        if _COOKIE.match(line):
            return number
    return None


def decode(data: bytes) -> Source:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if _cookie_line(data) is None:  # the first lines are not UTF-8: no declaration at all
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as error:
                raise SourceError(f"not valid UTF-8 at byte {error.start} and no encoding "
                                  "declaration") from None
        raise SourceError(f"bad encoding declaration: {exc.msg if hasattr(exc, 'msg') else exc}")
    try:
        text = data.decode(encoding)
    except LookupError as exc:
        raise SourceError(f"bad encoding declaration: {exc}")
    except UnicodeDecodeError as exc:
        cookie = _cookie_line(data)
        name = "UTF-8" if encoding.startswith("utf-8") else encoding
        declared = (f" (declared on line {cookie})" if cookie
                    else " and no encoding declaration")
        raise SourceError(f"not valid {name} at byte {exc.start}{declared}")
    if text.startswith("\ufeff"):
        text = text[1:]
    return Source(data, text, encoding)


def read_source(path) -> Source:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}")
    return decode(data)
