"""Rule documentation as data: the one source for `orgscope-lint rule`, the
SARIF rule help and the README's rule table."""
from __future__ import annotations

import re
from typing import Dict, Iterable, Type

from .base import Rule

_HEADING = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)


def sections(rule: Type[Rule]) -> Dict[str, str]:
    """`{"": summary, "What it does": ..., "Why is this bad?": ..., ...}`."""
    doc = rule.doc()
    parts = _HEADING.split(doc)
    found = {"": parts[0].strip()}
    for title, body in zip(parts[1::2], parts[2::2]):
        found[title] = body.strip()
    return found


def short_description(rule: Type[Rule]) -> str:
    return rule.summary().rstrip(".")


def full_description(rule: Type[Rule]) -> str:
    """The "What it does" text as one paragraph of plain prose."""
    text = sections(rule).get("What it does") or rule.summary()
    return " ".join(text.split())


def help_markdown(rule: Type[Rule]) -> str:
    return f"**{rule.code} {rule.name}** (default severity: {rule.severity})\n\n{rule.doc()}\n"


def rules_table(rules: Iterable[Type[Rule]]) -> str:
    """The README's Markdown table of rules."""
    lines = ["| code | name | default | fixable | what it flags |", "|---|---|---|---|---|"]
    for rule in rules:
        summary = short_description(rule)
        if not summary[1:2].isupper():  # keep acronyms such as RLS
            summary = summary[:1].lower() + summary[1:]
        lines.append(f"| {rule.code} | {rule.name} | {rule.severity} | "
                     f"{'yes' if rule.fixable else ''} | {summary} |")
    return "\n".join(lines) + "\n"
