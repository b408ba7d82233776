"""`--format json`: the stable contract of DESIGN.md section 4."""
from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any, Dict

from .. import __version__
from ..model import RunResult

SCHEMA_VERSION = 1


def document(result: RunResult) -> Dict[str, Any]:
    """The whole document as plain data."""
    return {key: list(value) if key in _LISTS else value
            for key, value in _parts(result).items()}


def _parts(result: RunResult) -> Dict[str, Any]:
    """The document, its long lists as generators (rendering them one entry
    at a time keeps the peak memory of a large run low)."""
    active = result.active
    doc: Dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "orgscope-lint", "version": __version__},
        "summary": {
            "files": result.files,
            "db_calls": len(result.db_calls),
            "routes": len(result.routes),
            "findings": len(active),
            "suppressed": len(result.findings) - len(active),
            "unverified": sum(1 for c in result.db_calls if c.outcome == "unknown")
                          + len(result.unverified),
            "by_rule": dict(sorted(Counter(f.rule for f in active).items())),
        },
        "findings": (f.to_json() for f in result.findings),
        "unverified": (
            {"path": c.path, "line": c.line, "symbol": c.symbol, "table": c.table,
             "operation": c.operation, "reason": c.detail}
            for c in result.db_calls + result.unverified if c.outcome == "unknown"),
        "errors": (e.to_json() for e in result.errors + result.internal_errors),
        # everything the tool judged, not only the failures
        "db_calls": (c.to_json() for c in result.db_calls),
        "routes": (_route(r) for r in result.routes),
    }
    if result.skipped:
        doc["summary"]["skipped"] = len(result.skipped)
    if result.baselined or result.baseline_gone:
        doc["summary"]["baselined"] = result.baselined
        doc["summary"]["baseline_gone"] = result.baseline_gone
    if result.schema is not None:
        doc["schema"] = result.schema
    return doc


_ROUTE_KEYS = ("methods", "path", "handler", "file", "line", "auth", "public", "tenant_source")


def _route(route: Dict[str, Any]) -> Dict[str, Any]:
    """methods, full path, handler, file, line, auth chain, public pattern."""
    return {key: route.get(key) for key in _ROUTE_KEYS}


# the long lists: one entry per line, each encoded by the C encoder
_LISTS = ("findings", "unverified", "errors", "db_calls", "routes")


def render(result: RunResult, **_: Any) -> str:
    """The document indented as usual, except that each entry of the long
    lists is one line, encoded and written one at a time. `json.dumps(...,
    indent=2)` of the whole document runs the pure-Python encoder and joins
    millions of small chunks: on a 400k-line project that took ~70 MB more."""
    out = io.StringIO()
    out.write("{")
    for index, (key, value) in enumerate(_parts(result).items()):
        out.write(",\n  " if index else "\n  ")
        out.write(json.dumps(key) + ": ")
        if key in _LISTS:
            out.write("[")
            empty = True
            for entry in value:
                out.write("\n    " if empty else ",\n    ")
                out.write(json.dumps(entry))
                empty = False
            out.write("]" if empty else "\n  ]")
        else:
            out.write(json.dumps(value, indent=2).replace("\n", "\n  "))
    out.write("\n}\n")
    return out.getvalue()
