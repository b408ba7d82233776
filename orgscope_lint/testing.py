"""Run rule examples and marked sources in memory (used by the test suite and
by anyone writing rules). `# expect: ORG102` marks each expected finding on
the line it is reported; `# expect-accepted: ORG105` marks an accepted one.
`fix_sources` applies every safe fix in memory, as `check --fix` would."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Set, Tuple

from .config import Config, config_from_table
from .engine import Options, active_rules, run
from .model import RunResult
from .rules.base import Example

MARK = re.compile(r"#\s*expect(-accepted)?:\s*([A-Z]{3}\d{3}(?:\s*,\s*[A-Z]{3}\d{3})*)")
# in SQL migrations the same marks sit in `--` comments
SQL_MARK = re.compile(r"--\s*expect(-accepted)?:\s*([A-Z]{3}\d{3}(?:\s*,\s*[A-Z]{3}\d{3})*)")

Mark = Tuple[str, int, str]


def config_from(table: Mapping, root: Path = Path("/nonexistent-root")) -> Config:
    return config_from_table(table, root, "<example>")


def run_sources(sources: Dict[str, str], config: Optional[Config] = None,
                **options) -> RunResult:
    config = config or config_from({})
    return run([], config, Options(sources=dict(sources), jobs=1, use_cache=False, **options))


def run_example(example: Example) -> RunResult:
    return run_sources(example_sources(example), config_from(example.config))


def example_sources(example: Example) -> Dict[str, str]:
    sources = dict(example.files)
    sources[example.path] = example.code
    return sources


def fix_sources(sources: Dict[str, str], config: Optional[Config] = None) -> Dict[str, str]:
    """Every source after `--fix` (planned, re-checked and verified like on disk)."""
    from .fix import plan_fixes
    from .source import decode
    config = config or config_from({})
    result = run_sources(sources, config)
    plan = plan_fixes(result, config, active_rules(config), sources=sources)
    fixed = dict(sources)
    for file in plan.files:
        fixed[file.path] = decode(file.new).text
    return fixed


def fix_example(example: Example) -> Dict[str, str]:
    return fix_sources(example_sources(example), config_from(example.config))


def marks_in(sources: Mapping[str, str]) -> Tuple[Set[Mark], Set[Mark]]:
    """(expected active findings, expected accepted findings)."""
    active: Set[Mark] = set()
    accepted: Set[Mark] = set()
    for path, text in sources.items():
        pattern = SQL_MARK if path.endswith(".sql") else MARK
        for number, line in enumerate(text.splitlines(), 1):
            for match in pattern.finditer(line):
                target = accepted if match.group(1) else active
                for code in match.group(2).split(","):
                    target.add((path, number, code.strip()))
    return active, accepted


def found(result: RunResult) -> Tuple[List[Mark], List[Mark]]:
    active = [(f.path, f.line, f.rule) for f in result.findings if not f.suppressed]
    accepted = [(f.path, f.line, f.rule) for f in result.findings if f.suppressed]
    return active, accepted
