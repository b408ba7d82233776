"""The example backend marks every expected finding inline; the tool's
findings must equal the marks exactly: no more, no fewer."""
from pathlib import Path

from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, run
from orgscope_lint.testing import marks_in

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_backend"


def _sources():
    return {p.relative_to(FIXTURE).as_posix(): p.read_text(encoding="utf-8")
            for pattern in ("*.py", "*.sql") for p in sorted(FIXTURE.rglob(pattern))}


def test_findings_equal_marks():
    config = load_config(None, FIXTURE)
    assert config.path == FIXTURE / "pyproject.toml"
    result = run([FIXTURE], config, Options(jobs=1, use_cache=False))
    assert not result.internal_errors
    # the one migration statement PostgreSQL rejects; the rest of its file applies
    # (PostgreSQL 15 complains at NOT, 17 at EXISTS)
    assert [(e.path, e.line) for e in result.errors] == [("database/migrations/003_contacts.sql", 21)]
    assert result.errors[0].message.startswith(
        "statement at line 21 rejected by the PostgreSQL parser: syntax error at or near")
    assert result.errors[0].message.endswith("; the rest of the file was applied")
    expected_active, expected_accepted = marks_in(_sources())
    active = sorted((f.path, f.line, f.rule) for f in result.findings if not f.suppressed)
    accepted = sorted((f.path, f.line, f.rule) for f in result.findings if f.suppressed)
    assert active == sorted(expected_active)
    assert accepted == sorted(expected_accepted)
    assert expected_active, "the fixture must contain marked findings"


def test_accepted_findings_carry_the_configured_reason():
    config = load_config(None, FIXTURE)
    result = run([FIXTURE], config, Options(jobs=1, use_cache=False))
    reasons = {f.suppression["reason"] for f in result.findings if f.suppressed}
    assert "Clerk/Ultravox webhooks: no user JWT; looked up by external ids" in reasons
    assert all(f.suppression["kind"] in ("system-context", "comment")
               for f in result.findings if f.suppressed)
    comments = [f.suppression["reason"] for f in result.findings
                if f.suppressed and f.suppression["kind"] == "comment"]
    assert comments == ["retention purge spans every organization"]
