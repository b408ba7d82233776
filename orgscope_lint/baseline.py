"""Baselines: known debt that stays quiet while new debt fails.

A baseline is a JSON file of finding fingerprints. Fingerprints (computed by
the engine) hold the rule, the path, the enclosing symbol and the normalised
source of the call, never a line number, and the n-th identical finding in a
file gets its own: moving code keeps it baselined, a second identical call in
the same function is new.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set

from .model import Finding, RunResult

BASELINE_VERSION = 1


class BaselineError(Exception):
    """A baseline file that cannot be read; the message names the file."""


@dataclass(frozen=True)
class Baseline:
    path: str
    # fingerprint -> root-relative path of the finding it was written for
    entries: Dict[str, str]


def load_baseline(path: Path) -> Baseline:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline file not found "
                            "(create it with --write-baseline)") from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BaselineError(f"{path}: not a JSON baseline: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise BaselineError(f"{path}: not an orgscope-lint baseline (no `findings` list)")
    if data.get("schema_version") != BASELINE_VERSION:
        raise BaselineError(f"{path}: unsupported baseline `schema_version` "
                            f"{data.get('schema_version')!r} (expected {BASELINE_VERSION})")
    entries: Dict[str, str] = {}
    for index, entry in enumerate(data["findings"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            raise BaselineError(f"{path}: `findings[{index}].fingerprint` must be a string")
        entries[entry["fingerprint"]] = str(entry.get("path", ""))
    return Baseline(str(path), entries)


def baseline_document(findings: Iterable[Finding]) -> dict:
    """The baseline of the active findings, in a stable order (it gets committed)."""
    entries = [{"fingerprint": f.fingerprint, "rule": f.rule, "path": f.path,
                "symbol": f.symbol, "message": f.message}
               for f in sorted(findings, key=lambda f: (f.path, f.rule, f.symbol or "",
                                                        f.fingerprint))
               if _is_debt(f)]
    counts = Counter(e["rule"] for e in entries)
    return {"schema_version": BASELINE_VERSION, "tool": "orgscope-lint",
            "summary": dict(sorted(counts.items())), "findings": entries}


def _is_debt(finding: Finding) -> bool:
    """Open findings and ones an older baseline already knew; not those
    accepted by a comment or a system context (they carry their reason)."""
    return not finding.suppressed or (finding.suppression or {}).get("kind") == "baseline"


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    document = baseline_document(findings)
    try:
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write baseline: {exc.strerror or exc}") from None
    return len(document["findings"])


def record_baseline(result: RunResult, path: Path) -> int:
    """Write the run's debt to `path` and mark it baselined in `result`."""
    count = write_baseline(path, result.findings)
    apply_baseline(result, load_baseline(path))
    return count


def apply_baseline(result: RunResult, baseline: Baseline,
                   reported_paths: Optional[Set[str]] = None) -> None:
    """Mark active findings known to the baseline; count the entries whose
    finding is gone (fixed). With `reported_paths`, entries of other files
    are out of scope, not gone."""
    seen: Set[str] = set()
    for finding in result.findings:
        if finding.fingerprint not in baseline.entries:
            continue
        seen.add(finding.fingerprint)
        if not finding.suppressed:
            finding.suppressed = True
            finding.suppression = {"kind": "baseline", "reason": f"in baseline {baseline.path}"}
            result.baselined += 1
    in_scope: List[str] = [fp for fp, path in baseline.entries.items()
                           if reported_paths is None or path in reported_paths]
    result.baseline_gone = sum(1 for fp in in_scope if fp not in seen)
