"""One judgement of "auth context": the tenant-key fix trusts a value read from
a dependency exactly when the route analysis counts that dependency as
authentication (configured, or depending on one transitively, across
modules, through `Annotated` aliases)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, active_rules, run
from orgscope_lint.fix import plan_fixes

ROOT = Path(__file__).resolve().parent.parent

AUTH = """\
from typing import Annotated

from fastapi import Depends, HTTPException


def get_current_user():
    return {}


def get_settings():
    return {}


async def require_admin_role(current_user: dict = Depends(get_current_user)) -> dict:
    if current_user.get("org_role") != "admin":
        raise HTTPException(status_code=403)
    return current_user


CurrentUser = Annotated[dict, Depends(get_current_user)]
"""

HEADER = """\
from fastapi import APIRouter, Depends

from app.core.auth import CurrentUser, get_settings, require_admin_role
from app.core.database import DatabaseService

router = APIRouter()
db = DatabaseService()
"""


def _project(tmp_path, body):
    (tmp_path / "pyproject.toml").write_text('[tool.orgscope-lint]\ntenant-key = "clerk_org_id"\n')
    for path, text in {"app/core/auth.py": AUTH, "app/api/admin.py": HEADER + body}.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def _plan(root, use_cache=False):
    config = load_config(None, root)
    result = run([root], config, Options(jobs=1, use_cache=use_cache))
    assert not result.internal_errors, result.internal_errors
    return result, plan_fixes(result, config, active_rules(config))


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "orgscope_lint", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


ADMIN_ROUTE = """

@router.delete("/agents/{agent_id}")
async def delete_agent(agent_id: str, admin: dict = Depends(require_admin_role)):
    clerk_org_id = admin["clerk_org_id"]
    db.delete("agents", {"id": agent_id})
"""


def test_fix_trusts_a_transitive_auth_dependency_as_the_route_analysis_does(tmp_path):
    """Regression: the route is authenticated through `require_admin_role ->
    get_current_user`, and `--fix` used to refuse its tenant value."""
    root = _project(tmp_path, ADMIN_ROUTE)
    result, plan = _plan(root)
    [route] = result.routes
    assert route["auth"] == ["require_admin_role", "get_current_user"]
    assert plan.unfixed == []
    [file_fix] = plan.files
    assert b'db.delete("agents", {"id": agent_id, "clerk_org_id": clerk_org_id})' in file_fix.new
    done = _cli("check", "--diff", "--no-cache", str(root))
    assert '+    db.delete("agents", {"id": agent_id, "clerk_org_id": clerk_org_id})' \
        in done.stdout, done.stderr


def test_the_same_judgement_comes_out_of_the_cache(tmp_path):
    root = _project(tmp_path, ADMIN_ROUTE)
    _plan(root, use_cache=True)
    result, plan = _plan(root, use_cache=True)  # every file from the cache
    [finding] = [f for f in result.findings if f.rule == "ORG102"]
    assert finding.fix.description == 'add "clerk_org_id": clerk_org_id to the filter'
    assert finding.no_fix is None
    assert len(plan.files) == 1


def test_an_imported_annotated_alias_is_an_auth_context(tmp_path):
    root = _project(tmp_path, """

@router.get("/agents/{agent_id}")
async def get_agent(agent_id: str, user: CurrentUser):
    org_id = user["clerk_org_id"]
    return db.select_one("agents", {"id": agent_id})
""")
    result, plan = _plan(root)
    assert result.routes[0]["auth"] == ["get_current_user"]
    [file_fix] = plan.files
    assert b'{"id": agent_id, "clerk_org_id": org_id}' in file_fix.new


def test_a_dependency_that_is_not_authentication_is_not_trusted(tmp_path):
    root = _project(tmp_path, """

@router.delete("/agents/{agent_id}")
async def delete_agent(agent_id: str, settings: dict = Depends(get_settings)):
    clerk_org_id = settings["clerk_org_id"]
    db.delete("agents", {"id": agent_id})
""")
    result, plan = _plan(root)
    assert result.routes[0]["auth"] == []
    assert {f.rule for f in result.findings} == {"ORG102", "ORG201"}
    assert plan.files == []
    [(finding, reason)] = plan.unfixed
    assert finding.rule == "ORG102" and "no trusted tenant value in scope" in reason


def test_only_the_value_from_the_auth_dependency_is_a_choice(tmp_path):
    root = _project(tmp_path, """

@router.delete("/agents/{agent_id}")
async def delete_agent(agent_id: str, admin: dict = Depends(require_admin_role),
                       settings: dict = Depends(get_settings)):
    org_id = admin["clerk_org_id"]
    default_org = settings["clerk_org_id"]
    db.delete("agents", {"id": agent_id})
""")
    _, plan = _plan(root)
    [file_fix] = plan.files
    assert b'{"id": agent_id, "clerk_org_id": org_id}' in file_fix.new


def test_two_auth_values_are_still_ambiguous(tmp_path):
    root = _project(tmp_path, """

@router.delete("/agents/{agent_id}")
async def delete_agent(agent_id: str, admin: dict = Depends(require_admin_role),
                       user: CurrentUser = None):
    org_id = admin["clerk_org_id"]
    other_org = user["clerk_org_id"]
    db.delete("agents", {"id": agent_id})
""")
    _, plan = _plan(root)
    assert plan.files == []
    [(_, reason)] = plan.unfixed
    assert "several tenant values in scope (org_id, other_org): choose one" in reason
