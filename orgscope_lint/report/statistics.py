"""`--statistics`: counts per rule instead of the findings (as ruff prints
them): code, name, count, fixable; a JSON array with `--format json`."""
from __future__ import annotations

import json
from typing import Any, Dict, List

from ..model import RunResult


def statistics(result: RunResult) -> List[Dict[str, Any]]:
    """One entry per rule with open findings, most frequent first."""
    rows: Dict[str, Dict[str, Any]] = {}
    for finding in result.active:
        row = rows.setdefault(finding.rule, {"code": finding.rule, "name": finding.name,
                                             "count": 0, "fixable": False})
        row["count"] += 1
        row["fixable"] = row["fixable"] or finding.fixable
    return sorted(rows.values(), key=lambda r: (-r["count"], r["code"]))


def render(result: RunResult, output_format: str) -> str:
    rows = statistics(result)
    if output_format == "json":
        return json.dumps(rows, indent=2) + "\n"
    width = max([len(str(r["count"])) for r in rows] + [1])
    return "".join(f"{r['count']:>{width}}\t{r['code']}\t{'[*]' if r['fixable'] else '   '}"
                   f"\t{r['name']}\n" for r in rows)
