"""`orgscope-lint init`: one test per guess kind (tenant key, auth, presets,
system contexts, public routes, scoping helpers, checklist), the files it
cannot read, `--dry-run`, writing without touching the rest of pyproject.toml,
and init + check on the sample backend stripped of its configuration."""
import re
import shutil
from pathlib import Path
from textwrap import dedent

import pytest
from click.testing import CliRunner

from orgscope_lint import cli
from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, run
from orgscope_lint.guesses.auth import guess_auth
from orgscope_lint.guesses.helpers import default_checklist, guess_scoping_helpers
from orgscope_lint.guesses.source import read_project
from orgscope_lint.guesses.system import LIMIT, guess_system_contexts
from orgscope_lint.guesses.tenant import guess_tenant_key
from orgscope_lint.init import (InitError, detect_presets, propose, write_initial_config,
                                write_proposal)

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_backend"
PYPROJECT = '[project]\nname = "demo"  # keep this comment\n\n[tool.ruff]\nline-length = 99'


def _tree(root: Path, files) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def stripped(tmp_path):
    """The sample backend without its `[tool.orgscope-lint]` configuration."""
    copy = tmp_path / "backend"
    shutil.copytree(FIXTURE / "app", copy / "app")
    shutil.copytree(FIXTURE / "database", copy / "database")
    text = (FIXTURE / "pyproject.toml").read_text(encoding="utf-8")
    (copy / "pyproject.toml").write_text(text[:text.index("[tool.orgscope-lint]")].rstrip()
                                         + "\n", encoding="utf-8")
    return copy


# -- tenant key -----------------------------------------------------------------

def test_tenant_key_from_the_schema_with_evidence_and_the_auth_context(tmp_path):
    tables = "\n".join(f"CREATE TABLE t{i} (id uuid primary key, account_id uuid NOT NULL, "
                       f"name text);" for i in range(4))
    _tree(tmp_path, {
        "db/migrations/001.sql": tables + "\nCREATE TABLE plans (id int, name text);\n"
                                 "CREATE TABLE audit (id int, clerk_org_id text NOT NULL);\n",
        # the code mentions another key more often: the schema wins
        "app/auth.py": """
            from fastapi import HTTPException

            def verify_and_get_user_id_from_jwt(token: str):
                if not token:
                    raise HTTPException(status_code=401)
                return {"account_id": token}
        """,
        "app/api.py": """
            from fastapi import Depends
            from app.auth import verify_and_get_user_id_from_jwt

            def f(user=Depends(verify_and_get_user_id_from_jwt)):
                return [{"clerk_org_id": 1}, {"clerk_org_id": 2}, {"clerk_org_id": 3},
                        {"clerk_org_id": 4}, {"clerk_org_id": 5}, {"clerk_org_id": 6}]
        """})
    source = read_project(tmp_path)
    guess = guess_tenant_key(source, guess_auth(source))
    assert guess.key == "account_id"
    assert guess.evidence.startswith("`account_id` on 4 of 6 tables (schema); in the auth "
                                     "context of `verify_and_get_user_id_from_jwt`")


def test_tenant_key_from_orm_models_sqlalchemy_and_django(tmp_path):
    _tree(tmp_path, {
        "app/models.py": """
            from sqlalchemy import Column, ForeignKey, Integer
            from sqlalchemy.orm import Mapped, mapped_column, DeclarativeBase
            from pydantic import BaseModel

            class Base(DeclarativeBase):
                pass

            class Project(Base):
                __tablename__ = "projects"
                id = Column(Integer, primary_key=True)
                workspace_id = Column(Integer, ForeignKey("workspaces.id"))

            class Task(Base):
                __tablename__ = "tasks"
                id: Mapped[int] = mapped_column(primary_key=True)
                workspace_id: Mapped[int] = mapped_column()

            class TaskOut(BaseModel):  # a pydantic schema is no table
                tenant_id: int
                team_id: int
        """,
        "shop/models.py": """
            from django.db import models

            class Order(models.Model):
                organization = models.ForeignKey("Organization", on_delete=models.CASCADE)

            class Invoice(models.Model):
                organization = models.ForeignKey("Organization", on_delete=models.CASCADE)
                total = models.IntegerField()

            class Refund(models.Model):
                organization = models.ForeignKey("Organization", on_delete=models.CASCADE)
        """})
    source = read_project(tmp_path)
    guess = guess_tenant_key(source, guess_auth(source))
    assert guess.key == "organization_id"  # Django's column for the `organization` field
    assert guess.evidence.startswith("`organization_id` on 3 of 5 tables (models)")
    assert ("workspace_id", 2, 0) in guess.candidates
    assert not any(k in ("tenant_id", "team_id") for k, _, _ in guess.candidates)


def test_tenant_key_from_code_alone_and_none_at_all(tmp_path):
    _tree(tmp_path, {"app/x.py": "def f(db, t):\n    return db.select('a', {'tenant_id': t})\n"})
    source = read_project(tmp_path)
    guess = guess_tenant_key(source, guess_auth(source))
    assert (guess.key, guess.evidence) == ("tenant_id", "`tenant_id` used 1 times in the code")
    (tmp_path / "app" / "x.py").write_text("print('hello')\n")
    source = read_project(tmp_path)
    assert guess_tenant_key(source, guess_auth(source)).key is None


def test_a_nullable_tenant_column_proposes_a_global_table(stripped):
    source = read_project(stripped)
    guess = guess_tenant_key(source, guess_auth(source))
    assert [t for t, _ in guess.global_tables] == ["voices_catalog"]


# -- auth ----------------------------------------------------------------------------

AUTH = {
    "app/deps.py": """
        from typing import Optional
        from fastapi import Depends, HTTPException, status
        from app.db import SessionLocal

        def get_db_session():
            session = SessionLocal()
            try:
                yield session
            finally:
                session.close()

        def get_current_user(token: str = Depends(oauth2_scheme)):
            credentials_exception = HTTPException(status_code=status.HTTP_401_UNAUTHORIZED)
            payload = jwt.decode(token, "k")
            if payload is None:
                raise credentials_exception
            return payload

        def get_optional_current_user(token: Optional[str] = None):
            \"\"\"Works with or without authentication.\"\"\"
            if not token:
                return None
            return verify_token(token)

        def require_owner(user=Depends(get_current_user)):
            if not user.get("owner"):
                raise HTTPException(status_code=403)
            return user

        def get_user_client(request):
            return make_client(get_current_user(request.headers["token"]))

        class ApiKeyAuth:
            def __call__(self, key: str):
                if key != "x":
                    raise HTTPException(401, "bad key")
                return key

        api_key = ApiKeyAuth()
    """,
    "app/routes.py": """
        from fastapi import APIRouter, Depends
        from app.deps import api_key, get_current_user, get_db_session, get_optional_current_user
        from app.deps import get_user_client, require_owner

        router = APIRouter()

        @router.get("/a")
        def a(user=Depends(require_owner), db=Depends(get_db_session)):
            return 1

        @router.get("/b")
        def b(user=Depends(get_optional_current_user), key=Depends(api_key)):
            return 1

        @router.get("/c")
        def c(client=Depends(get_user_client)):
            return 1
    """,
    "tests/test_routes.py": "from fastapi import Depends\n\ndef t(x=Depends(lambda: 1)):\n    pass\n",
}


def test_auth_dependencies_raise_or_verify_optional_and_sessions_are_not_auth(tmp_path):
    guess = guess_auth(read_project(_tree(tmp_path, AUTH)))
    assert [j.name for j in guess.dependencies] == ["api_key", "get_current_user",
                                                    "get_user_client"]
    assert "raises `credentials_exception` (401/403)" in guess.dependencies[1].why
    assert guess.dependencies[2].why == "calls `get_current_user`"  # not a Depends: listed
    assert "its `__call__`" in guess.dependencies[0].why
    assert [j.name for j in guess.through] == ["require_owner"]  # depends on get_current_user
    [optional] = guess.optional
    assert optional.name == "get_optional_current_user"
    assert "may return None" in optional.why
    assert [j.name for j in guess.not_auth] == ["get_db_session"]
    text = propose(tmp_path)[1]
    assert ('auth-dependencies = ["api_key", "get_current_user", "get_user_client", '
            '"require_owner"]') in text
    assert 'exclude = ["tests/"]  # test code' in text
    assert "# optional auth, not listed: get_optional_current_user" in text
    assert "# not auth: get_db_session" in text


def test_flask_decorators_before_request_hooks_and_drf_permission_classes(tmp_path):
    _tree(tmp_path, {
        "app/auth.py": """
            from functools import wraps
            from flask import abort, g

            def token_auth(view):
                @wraps(view)
                def wrapper(*args, **kwargs):
                    if not g.get("user"):
                        abort(401)
                    return view(*args, **kwargs)
                return wrapper
        """,
        "app/views.py": """
            from flask import Blueprint
            from flask_login import login_required
            from app.auth import token_auth

            bp = Blueprint("api", __name__)
            admin = Blueprint("admin", __name__)

            @bp.route("/a")
            @token_auth
            def a():
                return "a"

            @bp.route("/b")
            @login_required
            def b():
                return "b"

            @admin.before_request
            def check_admin():
                if not current_user.is_authenticated:
                    abort(403)
        """,
        "api/permissions.py": """
            from rest_framework.permissions import BasePermission

            class IsOrgMember(BasePermission):
                def has_permission(self, request, view):
                    return request.user.is_authenticated
        """})
    guess = guess_auth(read_project(tmp_path))
    assert [j.name for j in guess.decorators] == ["login_required", "token_auth"]
    assert "aborts with 401" in guess.decorators[1].why
    assert [j.name for j in guess.hooks] == ["check_admin"]
    assert [j.name for j in guess.permission_classes] == ["IsOrgMember"]
    text = propose(tmp_path)[1]
    assert 'auth-decorators = ["login_required", "token_auth"]' in text
    # the permission class and the hook are listed where the route rules read
    # them (DRF permission classes and before_request hooks named in
    # `auth-dependencies` authenticate the routes they guard)
    assert 'auth-dependencies = ["IsOrgMember", "check_admin"]' in text
    assert "#   check_admin (app/views.py:" in text and "before_request hook" in text
    assert re.search(r"#   IsOrgMember \(api/permissions.py:\d+\): DRF permission class", text)


# -- presets -------------------------------------------------------------------------

def test_presets_from_the_registry_detect(stripped):
    source = read_project(stripped)
    presets = detect_presets(source)
    assert [p.name for p in presets] == ["dbservice", "supabase"]
    assert presets[0].settings == {"receiver-classes": ["DatabaseService"]}
    # the wrapper's own `.eq(...)` calls do not count; the chains of the services do
    direct = sum((stripped / "app" / "services" / name).read_text().count(".eq(")
                 for name in ("reporting.py", "call_log.py"))
    assert presets[1].evidence == direct
    assert 'receiver-classes = ["DatabaseService"]  # found by the dbservice preset' in \
        propose(stripped)[1]
    (stripped / "app" / "services" / "reporting.py").unlink()
    (stripped / "app" / "services" / "call_log.py").unlink()
    assert [p.name for p in detect_presets(read_project(stripped))] == ["dbservice"]


# -- system contexts and public routes ---------------------------------------------

def test_system_contexts_need_evidence_and_never_come_from_tests(tmp_path):
    _tree(tmp_path, {
        "app/worker.py": """
            from celery import shared_task

            @shared_task
            def nightly_rollup():
                pass

            def helper():
                pass
        """,
        "app/celery_app.py": """
            from celery import Celery

            celery = Celery("app")

            @celery.task(bind=True)
            def send_digest(self):
                pass
        """,
        "app/cli.py": """
            import typer

            cli = typer.Typer()

            @cli.command()
            def backfill():
                pass
        """,
        "shop/management/commands/purge.py": """
            from django.core.management.base import BaseCommand

            class Command(BaseCommand):
                def handle(self, *args, **options):
                    pass
        """,
        "scripts/seed.py": "print('seed')\n",
        "app/backoffice/reports.py": "def all_orgs(db):\n    return db.select('orgs', {})\n",
        # a project-local "tasks" module of user-facing code: no queue, no entry point
        "app/tasks.py": "def list_tasks(db, org):\n    return db.select('tasks', {'org_id': org})\n",
        "tests/test_worker.py": "from celery import shared_task\n\n@shared_task\ndef t():\n    pass\n",
        "app/tests/fixtures.py": "if __name__ == '__main__':\n    pass\n",
    })
    guess = guess_system_contexts(read_project(tmp_path))
    found = {tuple(s.paths): (s.functions, s.evidence) for s in guess.contexts}
    assert found == {
        ("app/backoffice/reports.py",): ([], "named `backoffice`"),
        ("app/celery_app.py",): (["send_digest"], "1 celery task"),
        ("app/cli.py",): (["backfill"], "1 CLI command"),
        ("app/worker.py",): (["nightly_rollup"], "1 celery task"),
        ("scripts/*.py",): ([], "a script under `scripts/`"),
        ("shop/management/commands/purge.py",): ([], "a `BaseCommand` under management/commands"),
    }


def test_at_most_twenty_system_contexts_and_the_rest_counted(tmp_path):
    _tree(tmp_path, {f"app/jobs/job{i:02}.py": ("from rq.decorators import job\n\n@job('q')\n"
                                                 f"def run_{i}():\n    pass\n")
                     for i in range(27)})
    guess = guess_system_contexts(read_project(tmp_path))
    assert len(guess.contexts) == LIMIT and guess.more == 7
    text = propose(tmp_path)[1]
    assert "# ... and 7 more like these" in text


def test_webhooks_health_checks_and_functions_only_system_code_calls(stripped):
    guess = guess_system_contexts(read_project(stripped))
    assert guess.public_routes == [
        ("GET */health", "health check `health` (app/main.py)"),
        ("POST */clerk", "signature-verified webhook `clerk_webhook` (app/api/v1/webhooks.py)"),
        ("POST */ultravox", "signature-verified webhook `ultravox_webhook` "
                            "(app/api/v1/webhooks.py)")]
    found = [(s.paths, s.functions) for s in guess.contexts]
    assert found == [(["app/api/internal.py"], []),
                     (["app/services/webhook_handlers.py"], []),
                     (["app/tasks/*.py"], []),
                     (["app/services/telephony.py"], ["TelephonyService.sync_all_numbers"])]
    # app/api/v1/admin.py serves organization admins with a user token: not proposed


# -- scoping helpers and checklist ---------------------------------------------------

def test_scoping_helpers_load_by_id_and_tenant_and_raise(stripped):
    helpers = guess_scoping_helpers(read_project(stripped), "clerk_org_id")
    assert [(h.name, h.evidence) for h in helpers] == [
        ("_get_agent_or_404", "loads by `agent_id` and `clerk_org_id`, raises when missing"),
        ("_get_folder_or_404", "loads by `folder_id` and `clerk_org_id`, raises when missing"),
        # a load-then-check before a callback: the same shape to init's eye
        ("pause_call", "loads by `call_id` and `clerk_org_id`, raises when missing")]


def test_default_checklist_names_the_environment_a_reviewer_confirms(stripped):
    source = read_project(stripped)
    items = default_checklist(source, "clerk_org_id", guess_auth(source),
                              ["database/migrations/*.sql"])
    assert [i.split(":")[0] for i in items] == ["Identity provider", "Webhooks", "Migrations",
                                                "Row-level security"]
    assert "`get_current_user` returns as `clerk_org_id`" in items[0]
    assert "`CLERK_WEBHOOK_SECRET`" in items[1]


# -- the command ---------------------------------------------------------------------

def test_dry_run_prints_and_writes_nothing_and_unreadable_files_are_named(stripped):
    (stripped / "app" / "broken.py").write_text("def f(:\n")
    (stripped / "app" / "latin1.py").write_bytes(b"x = '\xe9'\n")
    before = (stripped / "pyproject.toml").read_bytes()
    outcome = CliRunner().invoke(cli.main, ["init", "--dry-run", str(stripped)])
    assert outcome.exit_code == 0, outcome.output
    assert (stripped / "pyproject.toml").read_bytes() == before
    assert "[tool.orgscope-lint]" in outcome.stdout
    assert "orgscope-lint: could not read app/broken.py: does not parse (line 1)" in outcome.stderr
    assert "orgscope-lint: could not read app/latin1.py: not UTF-8 text" in outcome.stderr
    assert "from 36 Python files (2 could not be read)" in outcome.stdout
    assert "dry run: nothing written" in outcome.stderr


def test_appends_to_pyproject_leaving_the_rest_byte_for_byte(stripped):
    (stripped / "pyproject.toml").write_text(PYPROJECT)
    written = write_initial_config(stripped)
    assert written == stripped / "pyproject.toml"
    text = written.read_text()
    assert text.startswith(PYPROJECT + "\n\n[tool.orgscope-lint]\n")
    config = load_config(None, stripped)
    assert config.path == written.resolve()
    assert config.tenant_key == "clerk_org_id"
    assert config.receiver_classes == ("DatabaseService",)
    assert config.schema == ("database/migrations/*.sql",)
    assert config.auth_dependencies == ("get_current_user", "verify_internal_token",
                                        "get_active_org", "require_admin_role",
                                        "require_agent_access")
    assert config.system_contexts == ()  # suggested, commented out
    assert config.report_checklist and config.report_checklist[0].startswith("Identity")


def test_writes_a_dotfile_without_pyproject_and_it_loads(stripped):
    (stripped / "pyproject.toml").unlink()
    written = write_initial_config(stripped)
    assert written.name == ".orgscope-lint.toml"
    assert load_config(None, stripped).path == written.resolve()


def test_never_overwrites_an_existing_configuration(stripped):
    (stripped / "pyproject.toml").write_text(PYPROJECT + '\n[tool.orgscope-lint]\n'
                                             'tenant-key = "x"\n')
    before = (stripped / "pyproject.toml").read_text()
    with pytest.raises(InitError, match="already exists"):
        write_initial_config(stripped)
    with pytest.raises(InitError, match="already exists"):
        write_initial_config(stripped, prefer_dotfile=True)
    assert (stripped / "pyproject.toml").read_text() == before
    (stripped / "pyproject.toml").unlink()
    (stripped / ".orgscope-lint.toml").write_text('tenant-key = "x"\n')
    with pytest.raises(InitError, match="already exists"):
        write_initial_config(stripped)


def test_cli_init_reports_errors_with_exit_2(stripped):
    (stripped / "pyproject.toml").write_text("[project\n")
    outcome = CliRunner().invoke(cli.main, ["init", str(stripped)])
    assert outcome.exit_code == 2
    assert "invalid TOML" in outcome.output and "pyproject.toml" in outcome.output
    (stripped / "pyproject.toml").write_text(PYPROJECT)
    outcome = CliRunner().invoke(cli.main, ["init", str(stripped)])
    assert outcome.exit_code == 0 and "wrote a starting configuration" in outcome.output


def test_project_without_tenant_keys_gets_a_placeholder_that_loads(tmp_path):
    (tmp_path / "main.py").write_text("print('hello')\n")
    write_initial_config(tmp_path)
    text = (tmp_path / ".orgscope-lint.toml").read_text()
    assert "no tenant key seen in the schema, models or code" in text
    load_config(None, tmp_path)


# -- init, then check ------------------------------------------------------------------

def _accept_every_suggestion(text: str) -> str:
    """What a user who confirms each commented suggestion ends up with."""
    lines = []
    for line in text.splitlines():
        if re.match(r"# (\[\[.*\]\]|paths = |functions = |reason = |public-routes = \[|\]$|"
                    r"global-tables = \[.|scoping-helpers = \[.)|#   \"", line):
            line = re.sub(r"\]\]  #.*", "]]", line[2:])
        lines.append(line)
    return "\n".join(lines) + "\n"


def _findings(root: Path):
    config = load_config(None, root)
    result = run([config.root], config, Options(use_cache=False, jobs=1))
    return {(f.rule, f.path, f.line, f.suppressed) for f in result.findings}


def test_init_then_check_matches_the_hand_written_configuration(stripped):
    hand = _findings(FIXTURE)
    written = write_initial_config(stripped)
    # as written, the suggestions are comments, and each difference is one of them:
    as_written = _findings(stripped)
    accepted_by_hand = {f[:3] for f in hand if f[3]}
    # findings the hand config accepts through its system contexts are open ...
    assert {f[:3] for f in hand - as_written} <= accepted_by_hand
    # ... and the rest are not reported by it at all: the public health check and
    # webhook routes (commented public-routes), the shared voice catalogue
    # (commented global-tables)
    assert {f[:3] for f in as_written - hand} - accepted_by_hand == {
        ("ORG201", "app/main.py", 30),
        ("ORG201", "app/api/v1/webhooks.py", 25), ("ORG201", "app/api/v1/webhooks.py", 33),
        ("ORG101", "app/services/agent.py", 36), ("ORG105", "app/api/v1/agents.py", 73),
        ("ORG401", "database/migrations/001_core.sql", 46),
        # init suggests no `principal-keys`: the caller's own profile row, and the
        # one its caller hands the caller's own id
        ("ORG101", "app/api/v1/operations.py", 69), ("ORG101", "app/api/v1/operations.py", 98)}
    # with every suggestion confirmed (and the hand config's principal key, which
    # init does not suggest), the findings are exactly the hand config's
    text = _accept_every_suggestion(written.read_text())
    written.write_text(text.replace("[tool.orgscope-lint]\n", "[tool.orgscope-lint]\n"
                                    'principal-keys = ["clerk_user_id"]\n', 1))
    # confirming the proposed scoping helper `_get_folder_or_404` verifies
    # `folder_id`, but that does not fill the bulk-inserted row's own
    # `clerk_org_id`: its ORG103 stays
    assert _findings(stripped) == hand
    # (call_log.py's `pause_call` loads by id and tenant and raises: proposed too)
    written.write_text(written.read_text().replace(
        'scoping-helpers = ["_get_agent_or_404", "_get_folder_or_404", "pause_call"]\n', ""))
    assert _findings(stripped) == hand


def test_public_routes_need_a_signature_check_a_health_path_or_a_sign_in_page(tmp_path):
    _tree(tmp_path, {"app/routes.py": """
        import hmac
        from flask import Blueprint
        from flask_login import login_required

        bp = Blueprint("web", __name__)

        def _check(body, signature):
            return hmac.compare_digest(body, signature)

        @bp.route("/hooks/stripe", methods=["POST"])
        def stripe_hook():
            _check(b"", b"")

        @bp.route("/hooks/email", methods=["POST"])
        def email_hook():  # no signature check: stays a finding
            return ""

        @bp.route("/login", methods=["GET", "POST"])
        def login():
            return ""

        @bp.route("/logout")
        @login_required
        def logout():
            return ""

        @bp.get("/healthz")
        def healthz():
            return ""

        @bp.get("/health/ready")
        def ready():
            return ""
    """})
    guess = guess_system_contexts(read_project(tmp_path))
    assert [p for p, _ in guess.public_routes] == ["GET */health/ready", "GET */healthz",
                                                   "GET,POST */login", "POST */hooks/stripe"]


def test_django_project_gets_the_django_preset_tenant_model_key_and_permissions(tmp_path):
    from orgscope_lint.config import load_config
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "django_backend"
    shutil.copytree(fixture / "app", tmp_path / "app")
    written = write_initial_config(tmp_path)
    text = written.read_text()
    assert 'presets = ["django"]' in text
    assert 'tenant-model = "Organization"' in text
    assert 'tenant-key = "organization"  # the foreign key to the tenant model' in text
    assert 'auth-dependencies = ["IsOrganizationEditor", "IsOrganizationMember"]\n' in text
    assert "#   IsOrganizationMember (app/projects/permissions.py:6): DRF permission class" in text
    assert '# paths = ["app/management/commands/backfill_labels.py"]' in text
    assert '# paths = ["app/management/commands/reindex_documents.py"]' in text
    assert '# paths = ["app/tasks/cleanup.py"]' in text
    assert '# paths = ["app/tasks/documents.py"]' in text
    config = load_config(None, tmp_path)
    assert config.presets == ("django",) and config.tenant_model == "Organization"


# -- init, then check, on the SQLAlchemy and Django fixtures ----------------------------

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _stripped_copy(name: str, tmp_path: Path) -> Path:
    """A fixture back end without its `[tool.orgscope-lint]` configuration."""
    copy = tmp_path / name
    shutil.copytree(FIXTURES / name, copy)
    text = (copy / "pyproject.toml").read_text(encoding="utf-8")
    (copy / "pyproject.toml").write_text(text[:text.index("[tool.orgscope-lint]")].rstrip()
                                         + "\n", encoding="utf-8")
    return copy


def test_sqlalchemy_fixture_guesses_and_init_then_check(tmp_path):
    root = _stripped_copy("sqlalchemy_backend", tmp_path)
    target, text, proposal = propose(root)
    # tenant key: `tenant_id`, on the models through `TenantScopedBase`'s mixin
    # (`@declared_attr def tenant_id`), returned by the auth dependency
    assert proposal.tenant.key == "tenant_id"
    assert re.match(r'tenant-key = "tenant_id"  # `tenant_id` on \d+ of \d+ tables \(models\); '
                    r"in the auth context of `get_current_user`", text.splitlines()[2])
    # the legacy app's `organization_id` is a default tenant column; the users'
    # `active_tenant_id` points at a tenant and owns nothing: no `tenant-columns`
    assert "tenant-columns" not in text
    assert proposal.tenant.others_needed == ["organization_id"]
    # preset, models
    assert 'presets = ["sqlalchemy"]' in text
    assert {"Invoice", "Project", "Task", "Report"} <= set(proposal.tenant_models)
    # auth: the dependency, the dependency class and its instance, the factory;
    # the session provider is not auth; Flask-Login's decorator
    assert [j.name for j in proposal.auth.all_auth] == [
        "RoleGuard", "get_current_user", "Authenticator", "_billing_reader"]
    assert [j.name for j in proposal.auth.not_auth] == ["get_session"]
    assert "auth-decorators = [\"login_required\"]" in text
    # the Flask before_request hooks that refuse (decorated, or registered with
    # `internal_bp.before_request(require_api_token)` from another module), not
    # the one that only remembers the visitor
    assert [j.name for j in proposal.auth.hooks] == ["require_api_token", "require_login"]
    assert '"_billing_reader", "require_api_token", "require_login"]' in text
    # public routes and the nightly job; the token-guarded `internal_api.py` is
    # no back-office system context (it serves routes and shows no service role)
    assert [p for p, _ in proposal.system.public_routes] == ["GET */health"]
    assert [s.paths for s in proposal.system.contexts] == [["app/services/maintenance.py"]]
    assert "it opens its own session (`SessionLocal()`)" in proposal.system.contexts[0].evidence
    # the checklist names the dependency that authenticates (401), not a factory
    assert "which `get_current_user` returns as `tenant_id`" in proposal.checklist[0]
    write_proposal(target, text)
    # as written the suggestions are comments: the job's finding is open, the
    # health check unauthenticated
    hand = _findings(FIXTURES / "sqlalchemy_backend")
    as_written = _findings(root)
    health = 1 + (root / "app" / "main.py").read_text().splitlines().index('@app.get("/health")')
    assert hand - as_written == {("ORG102", "app/services/maintenance.py", 14, True)}
    assert as_written - hand == {("ORG102", "app/services/maintenance.py", 14, False),
                                 ("ORG201", "app/main.py", health, False)}
    # confirmed: exactly the hand configuration's findings
    target.write_text(_accept_every_suggestion(target.read_text()))
    assert _findings(root) == hand


def test_django_fixture_guesses_and_init_then_check(tmp_path):
    root = _stripped_copy("django_backend", tmp_path)
    target, text, proposal = propose(root)
    assert 'presets = ["django"]' in text and 'tenant-model = "Organization"' in text
    assert 'tenant-key = "organization"  # the foreign key to the tenant model' in text
    # the DRF permission classes are auth; Django's login_required and the project's
    # require_role (it returns HttpResponseForbidden) are auth decorators
    assert 'auth-dependencies = ["IsOrganizationEditor", "IsOrganizationMember"]' in text
    assert 'auth-decorators = ["login_required", "require_role"]' in text
    # all three check the caller's membership of the URL's organization: scoping helpers
    assert ('# scoping-helpers = ["IsOrganizationEditor", "IsOrganizationMember", '
            '"require_role"]') in text
    assert [h.evidence for h in proposal.helpers] == [
        "looks the caller up by `organization__slug` from the URL and `user` (`Membership`)"] * 3
    # public routes from urls.py; tasks and management commands
    assert [p for p, _ in proposal.system.public_routes] == ["*/health/", "*/signup/"]
    assert [s.paths for s in proposal.system.contexts] == [
        ["app/management/commands/backfill_labels.py"],
        ["app/management/commands/reindex_documents.py"], ["app/tasks/cleanup.py"],
        ["app/tasks/documents.py"], ["app/tasks/reports.py"]]
    write_proposal(target, text)
    hand = _findings(FIXTURES / "django_backend")
    target.write_text(_accept_every_suggestion(target.read_text()))
    confirmed = _findings(root)
    # the one difference: init proposes the `signup/` page as public (a sign-up
    # page has no user yet), the hand config does not, and its view reads the
    # organization by the URL's slug (ORG201 there is the fixture's point)
    assert hand - confirmed == {("ORG201", "app/members/views.py", 87, False)}
    assert confirmed - hand == set()
    text = target.read_text().replace('  "*/signup/",', "")
    target.write_text(text)
    assert _findings(root) == hand


def test_django_urls_health_and_sign_in_paths_and_no_noise_candidates(tmp_path):
    _tree(tmp_path, {"app/urls.py": """
        from django.urls import include, path, re_path
        from app import views

        urlpatterns = [
            path("health/", views.health),
            re_path(r"^login/(?P<backend>[^/]+)/$", views.social_login),
            path("api/", include("app.api.urls")),
            path("reports/", views.reports),
        ]
    """, "app/models.py": """
        from django.db import models

        class Report(models.Model):
            tenant_id = models.IntegerField()

        def pick(requested_tenant_id):
            return requested_tenant_id
    """})
    target, text, proposal = propose(tmp_path)
    assert [p for p, _ in proposal.system.public_routes] == ["*/health/", "*/login/*/"]
    # `requested_tenant_id` (a local name, used once, on no table) is not a candidate worth listing
    assert "other candidates" not in text


def test_access_policies_view_method_decorators_and_sso_sign_in_steps(tmp_path):
    """Seen on apptension/saas-boilerplate: drf-access-policy classes (those
    that admit anonymous callers are no auth), a decorator on class views'
    methods that returns 401, and the single-sign-on steps as public routes."""
    _tree(tmp_path, {"app/policies.py": """
        from rest_access_policy import AccessPolicy

        class AdminFullAccess(AccessPolicy):
            statements = [make_statement(principal=Principal.group("admin"), action="*")]

        class AnyoneFullAccess(AccessPolicy):
            statements = [make_statement(principal=Principal.Any, action="*")]

        class IsAnonymousFullAccess(AccessPolicy):
            statements = [{"principal": ["anonymous"], "action": ["*"], "effect": "allow"}]
    """, "app/views.py": """
        from django.http import JsonResponse
        from rest_framework.views import APIView

        def scim_auth_required(view_func):
            def wrapper(self, request, *args, **kwargs):
                if not request.META.get("HTTP_AUTHORIZATION"):
                    return JsonResponse({"detail": "no token"}, status=401)
                return view_func(self, request, *args, **kwargs)
            return wrapper

        class Users(APIView):
            @scim_auth_required
            def get(self, request):
                return JsonResponse({})
    """, "app/urls.py": """
        from django.urls import path
        from app import views

        urlpatterns = [
            path("saml/<str:connection_id>/acs", views.SamlAcs.as_view()),
            path("oidc/<str:connection_id>/callback", views.OidcCallback.as_view()),
            path("passkeys/authenticate/verify", views.PasskeyVerify.as_view()),
            path("passkeys/register/verify", views.PasskeyRegister.as_view()),
            path("token-refresh/", views.Refresh.as_view()),
            path("users/<int:pk>/", views.Users.as_view()),
        ]
    """})
    guess = guess_auth(read_project(tmp_path))
    assert [j.name for j in guess.permission_classes] == ["AdminFullAccess"]
    assert "drf-access-policy statements for `Principal.group('admin')`" in \
        guess.permission_classes[0].why
    assert [(j.name, j.why) for j in guess.decorators] == [
        ("scim_auth_required", "returns 401; on 1 route handler")]
    public = [p for p, _ in guess_system_contexts(read_project(tmp_path)).public_routes]
    assert public == ["*/oidc/*/callback", "*/passkeys/authenticate/verify", "*/saml/*/acs",
                      "*/token-refresh/"]


def test_flask_hooks_whose_denial_does_not_cover_every_request_are_not_proposed(tmp_path):
    # the route analysis's verdict (tests/test_flask_hooks.py): a CSRF check, one
    # endpoint's check, a rate limit and an early return are no auth for the blueprint
    _tree(tmp_path, {"app/views.py": """
        from flask import Blueprint, abort, g, request, session
        from flask_login import current_user
        from app.auth import too_many, verify_token

        bp = Blueprint("admin", __name__)

        @bp.before_request
        def csrf_protect():
            if request.method == "POST" and request.form.get("csrf") != session.get("csrf"):
                abort(403)

        @bp.before_request
        def only_admin_page():
            if request.endpoint == "admin.secret" and not current_user.is_authenticated:
                abort(401)

        @bp.before_request
        def limits():
            if too_many(request.remote_addr):
                return "slow down", 403

        @bp.before_request
        def public_first():
            if request.path.startswith("/admin/public"):
                return
            verify_token(request.headers.get("Authorization"))

        @bp.before_request
        def require_login():
            if current_user.is_anonymous or not session.get("user_id"):
                abort(403)

        @bp.before_request
        def require_token():
            claims = verify_token(request.headers.get("Authorization"))
            if claims is None:
                abort(401)

        # static files let through (they are no route): still every route's guard
        @bp.before_request
        def static_first():
            if request.endpoint == "static":
                return
            if not current_user.is_authenticated:
                abort(401)

        @bp.before_request
        def all_but_static():
            if request.endpoint != "static":
                if g.user is None:
                    abort(401)

        # another endpoint let through: not every route's guard
        @bp.before_request
        def all_but_login():
            if request.endpoint != "admin.login":
                if g.user is None:
                    abort(401)
    """})
    guess = guess_auth(read_project(tmp_path))
    assert [j.name for j in guess.hooks] == ["require_login", "require_token", "static_first",
                                             "all_but_static"]
