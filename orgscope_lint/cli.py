"""Command line: click commands that wire options to the engine and renderers.
No analysis logic lives here."""
from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import click

from . import __version__
from .baseline import BaselineError, load_baseline, record_baseline
from .config import Config, ConfigError, load_config
from .gitinfo import head_commit
from .progress import DelayedProgress
from .report.github import StepSummaryError, write_step_summary
from .report.markdown import report_options
from .engine import NothingToCheck, Options, effective_config, run
from .model import RunResult
from .report import FORMATS, REPORT_FORMATS, renderer

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
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
    if result.fix_problems:  # `--fix` could not write everything it meant to
        return EXIT_FINDINGS
    threshold = _LEVELS.get(fail_on, 1)
    failing = [f for f in result.active if _LEVELS.get(f.severity, 2) >= threshold]
    return EXIT_FINDINGS if failing else EXIT_OK


def _emit(text: str, output: Optional[Path]) -> None:
    """Print the rendered output, or write it to `--output` (exit 2 if we cannot)."""
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"orgscope-lint: cannot write {output}: {exc.strerror}", err=True)
        sys.exit(EXIT_USAGE)


class _Group(click.Group):
    """Ctrl-C anywhere (loading, rendering) is exit 130 with one line, not
    click's `Aborted!` and exit 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            written = ctx.meta.get(_WRITTEN)
            click.echo(f"orgscope-lint: interrupted; {written or 'no file was changed'}",
                       err=True)
            sys.exit(EXIT_INTERRUPTED)


# context key: what `--fix` wrote, for a Ctrl-C after it
_WRITTEN = "orgscope-lint.written"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orgscope-lint")
def main() -> None:
    """Static org-isolation linter: prove that no query and no endpoint can
    cross from one organization's data into another's."""


_CONFIG_OPTION = click.option(
    "--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (pyproject.toml or .orgscope-lint.toml).")
_ROOT_OPTION = click.option(
    "--root", "root", type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Project root: finding paths, excludes and globs are relative to it (default: the "
         "config file's directory when it lies above the checked paths, else the repository "
         "or checked directory).")
_FORCE_EXCLUDE_OPTION = click.option(
    "--force-exclude", is_flag=True,
    help="Apply `exclude` to file paths given on the command line too (pre-commit).")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
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
@_CONFIG_OPTION
@_ROOT_OPTION
@_FORCE_EXCLUDE_OPTION
@click.option("--statistics", is_flag=True,
              help="Print counts per rule (code, name, count, fixable) instead of the "
                   "findings; a JSON array with --format json.")
@click.option("--show-settings", is_flag=True,
              help="Print the effective settings, their source and the project root, then exit.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Findings recorded in this baseline file do not fail the run.")
@click.option("--write-baseline", "write_baseline_file",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Record the current findings as known debt in FILE.")
@click.option("--quiet", "-q", is_flag=True, help="Findings only: no summary, no progress bar.")
@click.option("--fix", "apply_fixes", is_flag=True,
              help="Apply safe fixes, then report the findings that remain.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Print safe fixes as a unified diff without writing (exit 1 when there "
                   "is something to fix).")
@click.option("--since", "since", metavar="REF",
              help="Only findings on lines changed since the git ref REF (PR gating).")
def check(paths: Sequence[Path], output_format: str, output: Optional[Path],
          select: Optional[str], ignore: Optional[str], strict: Optional[bool],
          exit_zero: bool, no_cache: bool, jobs: Optional[int], config_file: Optional[Path],
          root: Optional[Path], force_exclude: bool, statistics: bool, show_settings: bool,
          baseline_file: Optional[Path], write_baseline_file: Optional[Path],
          quiet: bool, apply_fixes: bool, show_diff: bool, since: Optional[str]) -> None:
    """Check PATHS (default: the project root) for cross-tenant access."""
    if apply_fixes and show_diff:
        click.echo("orgscope-lint: --fix and --diff exclude each other", err=True)
        sys.exit(EXIT_USAGE)
    run_options = dict(jobs=jobs, use_cache=not no_cache, strict=strict,
                       select=_codes(select), ignore=_codes(ignore),
                       force_exclude=force_exclude, baseline=_load_baseline(baseline_file))
    if show_settings:
        _show_settings(paths, config_file, root, Options(**run_options))
        return
    run_options["since"] = since
    config, result = _run(paths, config_file, root, quiet, **run_options)
    if apply_fixes or show_diff:
        result = _fix(result, config, show_diff, quiet, not no_cache,
                      lambda note: _run(paths, config_file, root, True, interrupted=note,
                                        **run_options)[1])
    if write_baseline_file is not None:
        count = _record_baseline(result, write_baseline_file)
        if not quiet:
            click.echo(f"orgscope-lint: wrote {count} findings to {write_baseline_file}",
                       err=True)
    if result.baseline_gone and not quiet:
        click.echo(f"orgscope-lint: {result.baseline_gone} baseline entries are fixed; "
                   "refresh the baseline with --write-baseline", err=True)
    report = report_options(config, head_commit(str(config.root)))
    if statistics:
        from .report.statistics import render as render_statistics
        text = render_statistics(result, output_format)
    else:
        text = renderer(output_format)(result, color=_use_color() and output is None,
                                       quiet=quiet, **report)
    if output_format == "github":
        try:
            write_step_summary(result, os.environ, **report)
        except StepSummaryError as exc:
            click.echo(f"orgscope-lint: warning: {exc}", err=True)
    _emit(text, output)
    for error in result.internal_errors:
        click.echo(f"orgscope-lint: internal error in {error.path}: {BUG_HINT}\n"
                   f"{error.message}", err=True)
    sys.exit(exit_code(result, config.fail_on, exit_zero))


def _load(paths: Sequence[Path], config_file: Optional[Path], root: Optional[Path]) -> Config:
    """The configuration, or exit 2 naming the file and key."""
    try:
        return load_config(config_file, paths[0] if paths else None, root)
    except ConfigError as exc:
        click.echo(f"orgscope-lint: config error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _run(paths: Sequence[Path], config_file: Optional[Path], root: Optional[Path],
         quiet: bool, since: Optional[str] = None, interrupted: str = "no file was changed",
         **options) -> Tuple[Config, RunResult]:
    """Load the config and run the engine; config errors exit 2, bugs exit 3,
    Ctrl-C exits 130 saying `interrupted`. Returns the effective config (the
    command line's overrides applied)."""
    config = _load(paths, config_file, root)
    if since is not None:
        from .changes import ChangesError, changed_lines
        try:
            options["changed_lines"] = changed_lines(config.root, since)
        except ChangesError as exc:
            click.echo(f"orgscope-lint: {exc}", err=True)
            sys.exit(EXIT_USAGE)
    targets = list(paths) or [config.root]
    progress = None if quiet else DelayedProgress()
    run_options = Options(progress=progress, **options)
    try:
        result = run(targets, config, run_options)
    except ConfigError as exc:
        click.echo(f"orgscope-lint: config error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except NothingToCheck as exc:
        click.echo(f"orgscope-lint: no Python files to check in {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo(f"orgscope-lint: interrupted; {interrupted}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception:  # never a bare traceback for users; exit 3 with a hint
        click.echo(traceback.format_exc(), err=True)
        click.echo(f"orgscope-lint: internal error: {BUG_HINT}", err=True)
        sys.exit(EXIT_INTERNAL)
    finally:
        if progress is not None:
            progress.close()
    for warning in result.warnings if not quiet else ():
        click.echo(f"orgscope-lint: warning: {warning}", err=True)
    return effective_config(config, run_options), result


def _show_settings(paths: Sequence[Path], config_file: Optional[Path], root: Optional[Path],
                   options: Options) -> None:
    from .settings import describe
    config = _load(paths, config_file, root)
    try:
        text = describe(list(paths) or [config.root], config, options)
    except ConfigError as exc:
        click.echo(f"orgscope-lint: config error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(text, nl=False)


def _load_baseline(path: Optional[Path]):
    if path is None:
        return None
    try:
        return load_baseline(path)
    except BaselineError as exc:
        click.echo(f"orgscope-lint: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _record_baseline(result: RunResult, path: Path) -> int:
    try:
        return record_baseline(result, path)
    except BaselineError as exc:
        click.echo(f"orgscope-lint: {exc}", err=True)
        sys.exit(EXIT_USAGE)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(REPORT_FORMATS),
              default="markdown", show_default=True,
              help="markdown, or html: one self-contained file with a table of contents.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of stdout.")
@_CONFIG_OPTION
@_ROOT_OPTION
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes.")
@click.option("--strict", is_flag=True, default=None,
              help="Report DB calls whose scoping cannot be verified.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def report(paths: Sequence[Path], output_format: str, output: Optional[Path],
           config_file: Optional[Path], root: Optional[Path], jobs: Optional[int],
           strict: Optional[bool], quiet: bool) -> None:
    """Write the audit report for PATHS (default: the project root)."""
    config, result = _run(paths, config_file, root, quiet, jobs=jobs, strict=strict)
    text = renderer(output_format)(result, **report_options(config,
                                                            head_commit(str(config.root))))
    _emit(text, output)
    sys.exit(EXIT_INTERNAL if result.internal_errors else EXIT_OK)


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, exists=True,
                                                          path_type=Path))
@click.option("--dotfile", is_flag=True,
              help="Write .orgscope-lint.toml instead of appending to pyproject.toml.")
@click.option("--dry-run", is_flag=True, help="Print the proposed configuration; write nothing.")
def init(directory: Path, dotfile: bool, dry_run: bool) -> None:
    """Inspect the project in DIRECTORY and write a starting configuration."""
    from .init import InitError, propose, write_proposal
    try:
        target, text, proposal = propose(directory, prefer_dotfile=dotfile)
    except InitError as exc:
        click.echo(f"orgscope-lint: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    for rel, why in proposal.source.unreadable:
        click.echo(f"orgscope-lint: could not read {rel}: {why}", err=True)
    if proposal.source.skipped:
        click.echo(f"orgscope-lint: skipped {proposal.source.skipped.describe()}", err=True)
    if dry_run:
        click.echo(text, nl=False)
        click.echo(f"orgscope-lint: dry run: nothing written (it would go to {target})", err=True)
        return
    try:
        write_proposal(target, text)
    except OSError as exc:
        click.echo(f"orgscope-lint: cannot write {target}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"orgscope-lint: wrote a starting configuration to {target}; review the "
               "commented suggestions, then run `orgscope-lint check`")


def _fix(result: RunResult, config, show_diff: bool, quiet: bool, use_cache: bool,
         rerun) -> RunResult:
    """`--diff`: print the fixes and exit; `--fix`: write them, then check again
    (the written files' checks are in the cache already)."""
    from .engine import active_rules
    from .fix import plan_fixes, write_fixes
    from .interrupt import deferred_interrupts
    try:
        plan = plan_fixes(result, config, active_rules(config), use_cache=use_cache)
    except KeyboardInterrupt:
        click.echo("orgscope-lint: interrupted while working out fixes; no file was changed",
                   err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception:  # never a bare traceback for users; exit 3 with a hint
        click.echo(traceback.format_exc(), err=True)
        click.echo(f"orgscope-lint: internal error while fixing: {BUG_HINT}", err=True)
        sys.exit(EXIT_INTERNAL)
    if not quiet:
        for finding, reason in plan.unfixed:
            click.echo(f"{finding.path}:{finding.line}:{finding.column}: {finding.rule} "
                       f"{reason}", err=True)
    unfixed = f"{len(plan.unfixed)} without a safe fix"
    if show_diff:
        click.echo(plan.diff(), nl=False)
        if not quiet:
            click.echo(f"orgscope-lint: {plan.fixed} fix(es) in {len(plan.files)} file(s); "
                       f"{unfixed}", err=True)
        sys.exit(EXIT_FINDINGS if plan.files else EXIT_OK)
    # from here on Ctrl-C only stops further writes: a file is old or fixed
    with deferred_interrupts(reraise=False) as interrupt:
        try:
            not_written = write_fixes(plan, stop=lambda: interrupt.requested)
        except Exception:
            click.echo(traceback.format_exc(), err=True)
            click.echo(f"orgscope-lint: internal error while fixing: {BUG_HINT}", err=True)
            sys.exit(EXIT_INTERNAL)
    failed = {id(file) for file, _ in not_written}
    written = [file for file in plan.files if id(file) not in failed]
    summary = (f"applied {sum(len(f.applied) for f in written)} fixes in "
               f"{len(written)} files")
    if not_written:
        by_reason: Dict[str, List[str]] = {}
        for file, reason in not_written:
            by_reason.setdefault(reason, []).append(file.path)
        summary += (f"; {len(not_written)} files not written ("
                    + "; ".join(f"{reason}: {', '.join(paths)}"
                                for reason, paths in by_reason.items()) + ")")
    summary += f"; {unfixed}"
    if interrupt.requested:
        click.echo(f"orgscope-lint: interrupted: {summary}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if not quiet or not_written:
        click.echo(f"orgscope-lint: {summary}", err=True)
    if written:
        click.get_current_context().meta[_WRITTEN] = summary
        result = rerun(f"{summary}; the check after the fixes did not finish")
    if not_written:
        result.fix_problems = len(not_written)
    return result


@main.command("rules")
@click.option("--format", "output_format", type=click.Choice(("text", "markdown")),
              default="text", show_default=True,
              help="markdown: the table for README.md.")
def list_rules(output_format: str) -> None:
    """List every rule: code, name, default severity, fixable."""
    from .rules import RULES
    if output_format == "markdown":
        from .rules.docs import rules_table
        click.echo(rules_table(RULES), nl=False)
        return
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
