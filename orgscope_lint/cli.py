"""Command line: click commands that wire options to the engine and renderers.
No analysis logic lives here."""
from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Optional, Sequence, Tuple

import click

from . import __version__
from .config import ConfigError, load_config
from .engine import Options, run
from .model import RunResult
from .report import FORMATS, renderer

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
_LEVELS = {"info": 0, "warning": 1, "error": 2}
BUG_HINT = ("this is a bug in orgscope-lint: please report it with the file that triggers it "
            "(https://github.com/orgscope/orgscope-lint/issues)")


def _codes(value: Optional[str]) -> Tuple[str, ...]:
    return tuple(c.strip().upper() for c in (value or "").split(",") if c.strip())


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def exit_code(result: RunResult, fail_on: str, exit_zero: bool) -> int:
    if result.internal_errors:
        return EXIT_INTERNAL
    if exit_zero:
        return EXIT_OK
    threshold = _LEVELS.get(fail_on, 1)
    failing = [f for f in result.active if _LEVELS.get(f.severity, 2) >= threshold]
    return EXIT_FINDINGS if failing else EXIT_OK


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orgscope-lint")
def main() -> None:
    """Static org-isolation linter: prove that no query and no endpoint can
    cross from one organization's data into another's."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="rich",
              show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the output to FILE instead of stdout.")
@click.option("--select", help="Only these rule codes or prefixes (comma-separated).")
@click.option("--ignore", help="Skip these rule codes or prefixes (comma-separated).")
@click.option("--strict", is_flag=True, default=None,
              help="Report DB calls whose scoping cannot be verified.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes "
              "(default: the number of cores).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file (pyproject.toml or .orgscope-lint.toml).")
@click.option("--statistics", is_flag=True, help="Show counts per rule.")
@click.option("--fix", "apply_fixes", is_flag=True,
              help="Apply safe fixes, then report the findings that remain.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Print safe fixes as a unified diff without writing (exit 1 when there "
                   "is something to fix).")
def check(paths: Sequence[Path], output_format: str, output: Optional[Path],
          select: Optional[str], ignore: Optional[str], strict: Optional[bool],
          exit_zero: bool, no_cache: bool, jobs: Optional[int], config_file: Optional[Path],
          statistics: bool, apply_fixes: bool, show_diff: bool) -> None:
    """Check PATHS (default: the project root) for cross-tenant access."""
    if apply_fixes and show_diff:
        click.echo("orgscope-lint: --fix and --diff exclude each other", err=True)
        sys.exit(EXIT_USAGE)
    try:
        config = load_config(config_file, paths[0] if paths else None)
    except ConfigError as exc:
        click.echo(f"orgscope-lint: config error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    targets = list(paths) or [config.root]
    options = Options(jobs=jobs, use_cache=not no_cache, strict=strict,
                      select=_codes(select), ignore=_codes(ignore))
    try:
        result = run(targets, config, options)
    except KeyboardInterrupt:
        click.echo("orgscope-lint: interrupted", err=True)
        sys.exit(130)
    except Exception:  # never a bare traceback for users; exit 3 with a hint
        click.echo(traceback.format_exc(), err=True)
        click.echo(f"orgscope-lint: internal error: {BUG_HINT}", err=True)
        sys.exit(EXIT_INTERNAL)
    if apply_fixes or show_diff:
        result = _fix(result, config, show_diff, lambda: run(targets, config, options))
    render = renderer(output_format)
    text = render(result, color=_use_color() and output is None, statistics=statistics)
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            click.echo(f"orgscope-lint: cannot write {output}: {exc.strerror}", err=True)
            sys.exit(EXIT_USAGE)
    else:
        click.echo(text, nl=False)
    for error in result.internal_errors:
        click.echo(f"orgscope-lint: internal error in {error.path}: {BUG_HINT}\n"
                   f"{error.message}", err=True)
    sys.exit(exit_code(result, config.fail_on, exit_zero))


def _fix(result: RunResult, config, show_diff: bool, rerun) -> RunResult:
    """`--diff`: print the fixes and exit; `--fix`: write them, then check again."""
    from .engine import active_rules
    from .fix import plan_fixes, write_fixes
    try:
        plan = plan_fixes(result, config, active_rules(config))
        for finding, reason in plan.unfixed:
            click.echo(f"{finding.path}:{finding.line}:{finding.column}: {finding.rule} "
                       f"{reason}", err=True)
        if show_diff:
            click.echo(plan.diff(), nl=False)
            click.echo(f"orgscope-lint: {plan.fixed} fix(es) in {len(plan.files)} file(s); "
                       f"{len(plan.unfixed)} without a safe fix", err=True)
            sys.exit(EXIT_FINDINGS if plan.files else EXIT_OK)
        for path, problem in write_fixes(plan):
            click.echo(f"orgscope-lint: {path}: {problem}", err=True)
        click.echo(f"orgscope-lint: applied {plan.fixed} fix(es) in {len(plan.files)} "
                   f"file(s); {len(plan.unfixed)} without a safe fix", err=True)
        return rerun() if plan.files else result
    except KeyboardInterrupt:
        click.echo("orgscope-lint: interrupted (every file is either unchanged or fully "
                   "fixed)", err=True)
        sys.exit(130)


@main.command("rules")
def list_rules() -> None:
    """List every rule: code, name, default severity, fixable."""
    from .rules import RULES
    for rule in RULES:
        fix = "fixable" if rule.fixable else ""
        click.echo(f"{rule.code}  {rule.name:<28} {rule.severity:<8} {fix:<8} {rule.summary()}")


@main.command("rule")
@click.argument("code")
def show_rule(code: str) -> None:
    """Show the documentation of one rule (by code or name)."""
    from .rules import get_rule
    rule = get_rule(code)
    if rule is None:
        click.echo(f"orgscope-lint: unknown rule {code!r}; see `orgscope-lint rules`", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"# {rule.code} {rule.name} ({rule.severity})\n")
    click.echo(rule.doc())
