"""`orgscope-lint init`: inspects a project, appends a starting section to
pyproject.toml without touching the rest, or writes .orgscope-lint.toml;
never overwrites an existing configuration."""
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from orgscope_lint import cli
from orgscope_lint.config import load_config
from orgscope_lint.init import InitError, inspect_project, write_initial_config

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_backend"
PYPROJECT = '[project]\nname = "demo"  # keep this comment\n\n[tool.ruff]\nline-length = 99'


@pytest.fixture
def project(tmp_path):
    copy = tmp_path / "backend"
    shutil.copytree(FIXTURE / "app", copy / "app")
    (copy / "supabase" / "migrations").mkdir(parents=True)
    (copy / "supabase" / "migrations" / "001_init.sql").write_text("create table t (id int);\n")
    return copy


def test_inspection_finds_key_wrappers_auth_migrations_and_system_code(project):
    found = inspect_project(project)
    key, _ = found.tenant_keys.most_common(1)[0]
    assert key == "clerk_org_id"
    assert found.wrapper_classes == ["DatabaseService"]
    assert "get_current_user" in found.auth_dependencies
    assert found.schema_globs == ["supabase/migrations/*.sql"]
    assert found.system_paths == ["app/api/internal.py", "app/api/v1/webhooks.py",
                                  "app/services/webhook_handlers.py", "app/tasks/*.py"]
    # the wrapper's own `.eq(...)` calls do not count; the direct supabase-py
    # chains of app/services/reporting.py do
    direct = (project / "app" / "services" / "reporting.py").read_text().count(".eq(")
    assert direct > 0
    assert found.supabase_calls == direct


def test_wrapper_internals_alone_do_not_select_the_supabase_preset(project):
    (project / "app" / "services" / "reporting.py").unlink()
    assert inspect_project(project).supabase_calls <= 0


def test_appends_to_pyproject_leaving_the_rest_byte_for_byte(project):
    (project / "pyproject.toml").write_text(PYPROJECT)
    written = write_initial_config(project)
    assert written == project / "pyproject.toml"
    text = written.read_text()
    assert text.startswith(PYPROJECT + "\n\n[tool.orgscope-lint]\n")
    config = load_config(None, project)
    assert config.path == written.resolve()
    assert config.tenant_key == "clerk_org_id"
    assert config.receiver_classes == ("DatabaseService",)
    assert config.schema == ("supabase/migrations/*.sql",)
    assert config.system_contexts == ()  # suggested, commented out
    assert '# paths = ["app/tasks/*.py"]' in text


def test_writes_a_dotfile_without_pyproject_and_it_loads(project):
    written = write_initial_config(project)
    assert written.name == ".orgscope-lint.toml"
    config = load_config(None, project)
    assert config.path == written.resolve()
    assert config.auth_dependencies == ("get_current_user", "require_admin_role",
                                        "get_active_org", "verify_internal_token")


def test_never_overwrites_an_existing_configuration(project):
    (project / "pyproject.toml").write_text(PYPROJECT + '\n[tool.orgscope-lint]\ntenant-key = "x"\n')
    before = (project / "pyproject.toml").read_text()
    with pytest.raises(InitError, match="already exists"):
        write_initial_config(project)
    with pytest.raises(InitError, match="already exists"):
        write_initial_config(project, prefer_dotfile=True)
    assert (project / "pyproject.toml").read_text() == before
    (project / "pyproject.toml").unlink()
    (project / ".orgscope-lint.toml").write_text('tenant-key = "x"\n')
    with pytest.raises(InitError, match="already exists"):
        write_initial_config(project)


def test_cli_init_reports_errors_with_exit_2(project):
    (project / "pyproject.toml").write_text("[project\n")
    outcome = CliRunner().invoke(cli.main, ["init", str(project)])
    assert outcome.exit_code == 2
    assert "invalid TOML" in outcome.output and "pyproject.toml" in outcome.output
    (project / "pyproject.toml").write_text(PYPROJECT)
    outcome = CliRunner().invoke(cli.main, ["init", str(project)])
    assert outcome.exit_code == 0 and "wrote a starting configuration" in outcome.output


def test_project_without_tenant_keys_gets_a_placeholder(tmp_path):
    (tmp_path / "main.py").write_text("print('hello')\n")
    write_initial_config(tmp_path)
    text = (tmp_path / ".orgscope-lint.toml").read_text()
    assert "no tenant key seen in the code" in text
    load_config(None, tmp_path)
