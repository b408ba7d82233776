"""Inline suppressions: `# orgscope: ignore[ORG102, ORG104] reason`.

A cheap regex finds candidate lines; the tokenizer then confirms they are real
comments (not text inside a string)."""
from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, Tuple

_PATTERN = re.compile(r"#\s*orgscope:\s*ignore\[([^\]]*)\]\s*(.*)$")

Suppressions = Dict[int, Tuple[Tuple[str, ...], str]]


def parse_suppressions(text: str) -> Suppressions:
    if "orgscope:" not in text:
        return {}
    found: Suppressions = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return found
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = _PATTERN.search(token.string)
        if match:
            codes = tuple(c.strip().upper() for c in match.group(1).split(",") if c.strip())
            found[token.start[0]] = (codes, match.group(2).strip())
    return found
