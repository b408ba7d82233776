"""`--format json`: the stable contract of DESIGN.md section 4."""
from __future__ import annotations

import json
from collections import Counter
from typing import Any, Dict

from .. import __version__
from ..model import RunResult

SCHEMA_VERSION = 1


def document(result: RunResult) -> Dict[str, Any]:
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
        "findings": [f.to_json() for f in result.findings],
        "unverified": [
            {"path": c.path, "line": c.line, "symbol": c.symbol, "table": c.table,
             "operation": c.operation, "reason": c.detail}
            for c in result.db_calls + result.unverified if c.outcome == "unknown"],
        "errors": [e.to_json() for e in result.errors + result.internal_errors],
        # everything the tool judged, not only the failures
        "db_calls": [c.to_json() for c in result.db_calls],
        "routes": [_route(r) for r in result.routes],
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


def render(result: RunResult, **_: Any) -> str:
    return json.dumps(document(result), indent=2, sort_keys=False) + "\n"
