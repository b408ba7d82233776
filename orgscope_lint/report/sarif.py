"""`--format sarif`: SARIF 2.1.0 for code scanning.

Every rule is listed with its documentation as help; results carry
repo-relative URIs under `%SRCROOT%`, our own line-independent fingerprint in
`partialFingerprints`, suppressions (comment, system context, baseline)
as SARIF suppressions so code scanning shows them as dismissed, not lost, and
the safe fix of each active finding as SARIF `fixes` (its text edits).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from .. import __version__
from ..model import Finding, Fix, RunResult
from ..rules import RULES
from ..rules.docs import full_description, help_markdown, short_description
from .workspace import workspace

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "orgscopeFingerprint/v1"
INFORMATION_URI = "https://github.com/orgscope/orgscope-lint"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
# comments live in the source; system contexts and baselines in files beside it
_SUPPRESSION_KIND = {"comment": "inSource", "system-context": "external", "baseline": "external"}


def _rule_descriptor(rule) -> Dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": short_description(rule)},
        "fullDescription": {"text": full_description(rule)},
        "help": {"text": rule.doc(), "markdown": help_markdown(rule)},
        "helpUri": f"{INFORMATION_URI}#rules",
        "defaultConfiguration": {"level": _LEVEL.get(rule.severity, "warning")},
        "properties": {
            "tags": ["security", "multi-tenancy", rule.name],
            "security-severity": rule.security_severity,
            "precision": "high",
        },
    }


def _result(finding: Finding, rule_index: Dict[str, int], prefix: str) -> Dict[str, Any]:
    region = {"startLine": max(finding.line, 1), "startColumn": max(finding.column, 1),
              "endLine": max(finding.end_line, finding.line, 1),
              "endColumn": max(finding.end_column, 1)}
    if region["endLine"] == region["startLine"] and region["endColumn"] <= region["startColumn"]:
        region["endColumn"] = region["startColumn"] + 1
    result: Dict[str, Any] = {
        "ruleId": finding.rule,
        "level": _LEVEL.get(finding.severity, "warning"),
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": prefix + finding.path, "uriBaseId": "%SRCROOT%"},
            "region": region}}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
    }
    if finding.rule in rule_index:
        result["ruleIndex"] = rule_index[finding.rule]
    if finding.source_line.strip():
        region["snippet"] = {"text": finding.source_line}
    properties = {k: v for k, v in (("symbol", finding.symbol), ("table", finding.table),
                                    ("operation", finding.operation)) if v}
    if properties:
        result["properties"] = properties
    if finding.fix is not None and not finding.suppressed:
        result["fixes"] = [_fix(finding.fix, prefix + finding.path)]
    if finding.suppressed and finding.suppression:
        result["suppressions"] = [{
            "kind": _SUPPRESSION_KIND.get(finding.suppression.get("kind"), "external"),
            "justification": finding.suppression.get("reason") or "",
        }]
    return result


def _fix(fix: Fix, uri: str) -> Dict[str, Any]:
    """A SARIF fix: one artifact change whose replacements are the text edits
    (an empty region inserts; the columns are code points like the results')."""
    return {
        "description": {"text": fix.description},
        "artifactChanges": [{
            "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
            "replacements": [{
                "deletedRegion": {"startLine": e.span.line, "startColumn": e.span.column,
                                  "endLine": e.span.end_line, "endColumn": e.span.end_column},
                "insertedContent": {"text": e.replacement},
            } for e in fix.edits],
        }],
    }
def _notification(error, prefix: str) -> Dict[str, Any]:
    location: Dict[str, Any] = {"artifactLocation": {"uri": prefix + error.path,
                                                     "uriBaseId": "%SRCROOT%"}}
    if error.line:
        location["region"] = {"startLine": error.line}
    return {"level": "error", "message": {"text": error.message},
            "locations": [{"physicalLocation": location}]}


def document(result: RunResult, environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    # repository-relative URIs: code scanning resolves them against the checkout
    base, prefix = workspace(result.root, os.environ if environ is None else environ)
    base_uri = Path(base).as_uri()
    rule_index = {rule.code: index for index, rule in enumerate(RULES)}
    notifications: List[Dict[str, Any]] = [
        _notification(error, prefix) for error in result.errors + result.internal_errors]
    invocation: Dict[str, Any] = {"executionSuccessful": not result.internal_errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "orgscope-lint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule_descriptor(rule) for rule in RULES],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {
                "uri": base_uri if base_uri.endswith("/") else base_uri + "/"}},
            "invocations": [invocation],
            "results": [_result(f, rule_index, prefix) for f in result.findings],
            "columnKind": "unicodeCodePoints",
        }],
    }


def render(result: RunResult, *, environ: Optional[Mapping[str, str]] = None,
           **_: Any) -> str:
    return json.dumps(document(result, environ), indent=2) + "\n"
