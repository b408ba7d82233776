"""Safe autofixes: before/after pairs for each fix kind, the cases without a
safe fix, verification, idempotence, byte preservation and atomic writes."""
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from orgscope_lint import atomic
from orgscope_lint.config import load_config
from orgscope_lint.edits import import_draft, insert_element
from orgscope_lint.engine import Options, active_rules, run
from orgscope_lint.fix import plan_fixes, write_fixes
from orgscope_lint.model import Finding, Fix, Span, TextEdit
from orgscope_lint.testing import fix_sources

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "sample_backend"

PYPROJECT = """\
[tool.orgscope-lint]
tenant-key = "clerk_org_id"

[tool.orgscope-lint.table-keys]
phone_numbers = "organization_id"
"""

EXCEPTIONS = """\
class AppError(Exception):
    pass


class NotFoundError(AppError):
    pass


class ValidationError(AppError):
    pass
"""

HEADER = """\
from fastapi import Depends

from app.core.auth import get_current_user
from app.core.database import DatabaseService

db = DatabaseService()
"""


def project(tmp_path, files):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    for path, text in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def check(root):
    config = load_config(None, root)
    return config, run([root], config, Options(jobs=1, use_cache=False))


def plan_for(root):
    config, result = check(root)
    return plan_fixes(result, config, active_rules(config)), result


def fixed(tmp_path, files, path="app/api/routes.py"):
    """Fix the project once; return the fixed text of `path` and the plan."""
    root = project(tmp_path, files)
    plan, _ = plan_for(root)
    assert write_fixes(plan) == []
    return (root / path).read_text(encoding="utf-8"), plan


def reasons(plan):
    return [(f.rule, reason) for f, reason in plan.unfixed]


# --- ORG101/ORG102/ORG103: the tenant key ---------------------------------------

def route(body):
    return HEADER + "\n\nasync def handler(item_id: str, current_user: dict = " \
        "Depends(get_current_user)):\n" + textwrap.indent(textwrap.dedent(body), "    ")


def test_single_line_filter_gets_the_key_as_last_entry(tmp_path):
    text, plan = fixed(tmp_path, {"app/api/routes.py": route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", filters={"id": item_id})
    """)})
    assert 'db.delete("agents", filters={"id": item_id, "clerk_org_id": clerk_org_id})\n' in text
    assert [f.rule for f, _ in plan.files[0].applied] == ["ORG102"]


def test_read_with_single_quotes_keeps_the_quote_style(tmp_path):
    text, _ = fixed(tmp_path, {"app/api/routes.py": route("""\
        org = current_user.get('clerk_org_id')
        return db.select_one('agents', {'id': item_id})
    """)})
    assert "db.select_one('agents', {'id': item_id, 'clerk_org_id': org})" in text


def test_multi_line_row_with_trailing_comma_and_comments(tmp_path):
    text, _ = fixed(tmp_path, {"app/api/routes.py": route("""\
        clerk_org_id = current_user["clerk_org_id"]
        return db.insert(
            "agents",
            {
                "id": item_id,  # the caller's id
                "name": "x",  # shown in the UI
            },
        )
    """)})
    assert ('        {\n            "id": item_id,  # the caller\'s id\n'
            '            "name": "x",  # shown in the UI\n'
            '            "clerk_org_id": clerk_org_id,\n        },\n    )\n') in text


def test_multi_line_row_without_trailing_comma(tmp_path):
    text, _ = fixed(tmp_path, {"app/api/routes.py": route("""\
        clerk_org_id = current_user["clerk_org_id"]
        return db.insert("agents", {
            "id": item_id,
            "name": "x"
        })
    """)})
    assert ('{\n        "id": item_id,\n        "name": "x",\n'
            '        "clerk_org_id": clerk_org_id\n    })') in text


def test_hanging_dict_and_empty_row(tmp_path):
    text, _ = fixed(tmp_path, {"app/api/routes.py": route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.update("agents", {"id": item_id,
                             "status": "x"}, {"a": 1})
        return db.insert("agents", {})
    """)})
    assert ('{"id": item_id,\n                         "status": "x",\n'
            '                         "clerk_org_id": clerk_org_id}') in text
    assert 'db.insert("agents", {"clerk_org_id": clerk_org_id})' in text


def test_table_key_override_and_tenant_parameter_of_the_function(tmp_path):
    text, _ = fixed(tmp_path, {"app/services/telephony.py": """\
        from app.core.database import DatabaseService


        class TelephonyService:
            def __init__(self):
                self.db = DatabaseService()

            def assign(self, organization_id, agent_id, number_id):
                self.db.update("agents", {"id": agent_id, "clerk_org_id": organization_id}, {"n": 1})
                self.db.update("agents", {"id": agent_id}, {"n": 2})
                self.db.update("phone_numbers", {"id": number_id, "organization_id": organization_id}, {})
                self.db.update("phone_numbers", {"id": number_id}, {"x": 1})
    """}, path="app/services/telephony.py")
    assert 'self.db.update("agents", {"id": agent_id, "clerk_org_id": organization_id}, {"n": 2})' \
        in text
    assert ('self.db.update("phone_numbers", {"id": number_id, "organization_id": '
            'organization_id}, {"x": 1})') in text


@pytest.mark.parametrize("body, reason", [
    ("""\
        db.delete("agents", {"id": item_id})
    """, "no trusted tenant value in scope"),
    ("""\
        org_id = current_user["clerk_org_id"]
        clerk_org_id = current_user.get("organization_id")
        db.delete("agents", {"id": item_id})
    """, "several tenant values in scope (clerk_org_id, org_id)"),
    ("""\
        clerk_org_id = current_user["clerk_org_id"]
        filters = {"id": item_id}
        db.delete("agents", filters)
    """, "the filter is not a dict literal in the call"),
    ("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", dict(id=item_id))
    """, "the filter is not a dict literal in the call"),
    ("""\
        data = {}
        clerk_org_id = data.get("clerk_org_id") or current_user.get("clerk_org_id")
        db.delete("agents", {"id": item_id})
    """, "no trusted tenant value in scope"),
    ("""\
        if item_id:
            clerk_org_id = current_user["clerk_org_id"]
        else:
            clerk_org_id = item_id
        db.delete("agents", {"id": item_id})
    """, "no trusted tenant value in scope"),
    ("""\
        if item_id:
            clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id})
    """, "no trusted tenant value in scope"),  # unbound when item_id is empty
    ("""\
        for key in ("a", "b"):
            clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id})
    """, "no trusted tenant value in scope"),
])
def test_no_safe_fix(tmp_path, body, reason):
    root = project(tmp_path, {"app/api/routes.py": route(body)})
    before = (root / "app/api/routes.py").read_bytes()
    plan, _ = plan_for(root)
    assert plan.files == []
    [(rule, message)] = reasons(plan)
    assert rule == "ORG102" and message.startswith("no safe fix: ") and reason in message
    write_fixes(plan)
    assert (root / "app/api/routes.py").read_bytes() == before


def test_aliases_of_one_value_count_once(tmp_path):
    text, _ = fixed(tmp_path, {"app/api/routes.py": route("""\
        org = current_user["clerk_org_id"]
        clerk_org_id = org
        db.delete("agents", {"id": item_id})
    """)})
    assert 'db.delete("agents", {"id": item_id, "clerk_org_id": clerk_org_id})' in text


def test_annotated_dependency_and_awaited_auth_call_are_trusted(tmp_path):
    text, _ = fixed(tmp_path, {"app/api/routes.py": HEADER + """
from typing import Annotated


async def annotated(item_id: str, user: Annotated[dict, Depends(get_current_user)]):
    org_id = user["clerk_org_id"]
    return db.select_one("agents", {"id": item_id})


async def awaited(request, item_id: str):
    user = await get_current_user(request)
    org_id = user.get("clerk_org_id")
    return db.select_one("agents", {"id": item_id})
"""})
    assert text.count('db.select_one("agents", {"id": item_id, "clerk_org_id": org_id})') == 2


def test_request_parameter_is_not_trusted(tmp_path):
    root = project(tmp_path, {"app/api/routes.py": HEADER + """

async def handler(item_id: str, clerk_org_id: str):
    db.delete("agents", {"id": item_id})
"""})
    plan, _ = plan_for(root)
    assert plan.files == [] and "no trusted tenant value" in reasons(plan)[0][1]


# --- ORG301: imports -------------------------------------------------------------

EXPORT = """\
\"\"\"CSV exports.\"\"\"
import logging

from app.core.auth import get_current_user
from app.core.exceptions import NotFoundError

logger = logging.getLogger(__name__)


def export(org_id):
    if not org_id:
        raise ValidationError("Exports require an active organization")
    if org_id == "x":
        raise ValidationError("again")
    raise NotFoundError("nothing")
"""


def test_seed_export_case_extends_the_existing_import(tmp_path):
    root = project(tmp_path, {"app/core/exceptions.py": EXCEPTIONS,
                              "app/core/auth.py": "def get_current_user():\n    pass\n",
                              "app/api/v1/export.py": EXPORT})
    config, result = check(root)
    messages = {f.message for f in result.active if f.rule == "ORG301"}
    assert messages == {"`ValidationError` is not imported: add it to the imports from "
                        "`app.core.exceptions`"}
    plan = plan_fixes(result, config, active_rules(config))
    assert plan.fixed == 2 and len(plan.files) == 1
    assert "-from app.core.exceptions import NotFoundError\n" \
           "+from app.core.exceptions import NotFoundError, ValidationError\n" in plan.diff()
    write_fixes(plan)
    text = (root / "app/api/v1/export.py").read_text()
    assert text == EXPORT.replace("import NotFoundError\n", "import NotFoundError, ValidationError\n")
    _, again = check(root)
    assert not [f for f in again.findings if f.rule == "ORG301"]


def test_new_import_goes_at_the_end_of_the_import_block(tmp_path):
    source = EXPORT.replace("from app.core.exceptions import NotFoundError\n", "") \
        .replace('    raise NotFoundError("nothing")\n', "")
    root = project(tmp_path, {"app/core/exceptions.py": EXCEPTIONS,
                              "app/core/auth.py": "def get_current_user():\n    pass\n",
                              "app/api/v1/export.py": source})
    config, result = check(root)
    assert {f.message for f in result.active} == {
        "`ValidationError` is not imported: import it: "
        "`from app.core.exceptions import ValidationError`"}
    write_fixes(plan_fixes(result, config, active_rules(config)))
    assert (root / "app/api/v1/export.py").read_text() == source.replace(
        "from app.core.auth import get_current_user\n",
        "from app.core.auth import get_current_user\n"
        "from app.core.exceptions import ValidationError\n")


def test_several_definers_are_listed_and_not_fixed(tmp_path):
    root = project(tmp_path, {"app/core/exceptions.py": EXCEPTIONS,
                              "app/api/errors.py": "class ValidationError(Exception):\n    pass\n",
                              "app/api/v1/export.py": "def f():\n    raise ValidationError('x')\n"})
    config, result = check(root)
    [finding] = result.active
    assert finding.message == ("`ValidationError` is not defined: import it from the module "
                               "that should provide it (`app.api.errors`, `app.core.exceptions`)")
    plan = plan_fixes(result, config, active_rules(config))
    assert plan.files == [] and "several project modules define" in reasons(plan)[0][1]


def test_unknown_name_without_definer(tmp_path):
    root = project(tmp_path, {"app/main.py": "print(undefined_thing)\n"})
    _, result = check(root)
    assert [f.message for f in result.active] == [
        "`undefined_thing` is not defined: import or define it"]


def test_star_imports_resolved_through_the_project(tmp_path):
    files = {"app/core/exceptions.py": EXCEPTIONS,
             "app/core/__init__.py": "from app.core.exceptions import *\n",
             "app/a.py": "from app.core import *\nraise ValidationError('x')\n",
             "app/b.py": "from app.core.exceptions import *\nraise Missing('x')\n",
             "app/c.py": "from requests import *\nraise Whatever('x')\n",
             "app/d.py": "from app.private import *\nraise _Hidden('x')\nraise Listed('y')\n",
             "app/private.py": "__all__ = ['Listed']\nclass _Hidden: pass\nclass Listed: pass\n"
                               "class NotListed: pass\n",
             "app/e.py": "from app.private import *\nraise NotListed('z')\n",
             "app/f.py": "from app.opcodes import *\nprint(MIN_UNTIL)\n",
             "app/opcodes.py": "globals().update({'MIN_UNTIL': 1})\n",
             "app/g.py": "from app.computed import *\nprint(ANYTHING)\n",
             "app/computed.py": "__all__ = [n for n in dir() if n.isupper()]\n",
             "app/pkg/__init__.py": "from .events import *\nfrom .tasks import run\n"
                                    "__all__ = events.__all__ + tasks.__all__ + other.__all__\n",
             "app/pkg/events.py": "__all__ = ['Event']\nclass Event: pass\n",
             "app/pkg/tasks.py": "__all__ = ['run']\ndef run(): pass\n"}
    root = project(tmp_path, files)
    _, result = check(root)
    assert sorted((f.path, f.line) for f in result.active) == [
        ("app/b.py", 2), ("app/d.py", 2), ("app/e.py", 2), ("app/pkg/__init__.py", 3)]


def test_undefined_names_are_not_accepted_in_system_contexts(tmp_path):
    root = project(tmp_path, {"app/tasks/job.py": "def run():\n    return missing_name\n"})
    with open(root / "pyproject.toml", "a") as handle:
        handle.write('\n[[tool.orgscope-lint.system-contexts]]\npaths = ["app/tasks/*.py"]\n'
                     'reason = "cron"\n')
    _, result = check(root)
    assert [(f.rule, f.suppressed) for f in result.findings] == [("ORG301", False)]


def test_import_edits_keep_the_statement_style():
    def add(code, name, target="a"):
        """`code` (which uses `name`) after --fix, with `target` defining `name`."""
        use = f"\nprint({name})\n"
        fixed = fix_sources({"app/m.py": code + use,
                             target.replace(".", "/") + ".py": f"{name} = 1\n"})["app/m.py"]
        assert fixed.endswith(use)
        return fixed[:-len(use)]

    assert add("from a import (\n    B,\n    C,  # c\n)\n", "D") == \
        "from a import (\n    B,\n    C,  # c\n    D,\n)\n"
    assert add("from a import (\n    B,\n    D\n)\n", "C") == \
        "from a import (\n    B,\n    C,\n    D\n)\n"
    assert add("from a import (B, D)\n", "A") == "from a import (A, B, D)\n"
    assert add("from a import CONST, Klass, func\n", "Other") == \
        "from a import CONST, Klass, Other, func\n"
    assert add("from a import zeta, alpha\n", "beta") == "from a import zeta, alpha, beta\n"
    assert add("from . import x\nfrom .a import y\n", "z", "app.a") == \
        "from . import x\nfrom .a import y, z\n"
    assert add('"""Doc."""\nx = 1\n', "B") == '"""Doc."""\n\nfrom a import B\nx = 1\n'
    assert add("from __future__ import annotations\nimport os\n\nx = 1\n", "B") == \
        "from __future__ import annotations\nimport os\nfrom a import B\n\nx = 1\n"
    assert add("#!/usr/bin/env python\nx = 1\n", "B") == \
        "#!/usr/bin/env python\nfrom a import B\nx = 1\n"
    draft = import_draft(cst.parse_module("from a import B\n"), "app.m", False, "B")
    assert draft.extend == {"a": "`B` is already imported from `a`"}


def test_insert_element_in_an_empty_sequence():
    new = cst.ImportAlias(name=cst.Name("x"))
    elements, closing = insert_element([], 0, new, None, None)
    assert len(elements) == 1 and elements[0].deep_equals(new) and closing is None


# --- ORG901: unused suppressions ----------------------------------------------------

@pytest.mark.parametrize("before, after", [
    ("x = 1  # orgscope: ignore[ORG102] reviewed\n", "x = 1\n"),
    ('def f(db):\n    db.delete("t", {"a": 1})  # orgscope: ignore[ORG102, ORG105] reviewed\n',
     'def f(db):\n    db.delete("t", {"a": 1})  # orgscope: ignore[ORG102] reviewed\n'),
    ("x = 1  # noqa: E501  # orgscope: ignore[ORG102]\n", "x = 1  # noqa: E501\n"),
    ("x = 1\nif x:  # orgscope: ignore[ORG101]\n    pass\n", "x = 1\nif x:\n    pass\n"),
    ("y = 0\n# orgscope: ignore[ORG101]\nx = 1\n", "y = 0\nx = 1\n"),
    ("y = 0\n# orgscope: ignore[ORG101]", "y = 0"),
    ("y = 0\r\n# orgscope: ignore[ORG101]\r\nx = 1\r\n", "y = 0\r\nx = 1\r\n"),
    ("def f(a):\n    f(\n        a,  # orgscope: ignore[ORG101]\n    )\n",
     "def f(a):\n    f(\n        a,\n    )\n"),
    ("x = 1  # orgscope: ignore[]\n", "x = 1\n"),
])
def test_unused_suppression_edits(before, after):
    assert fix_sources({"app/m.py": before})["app/m.py"] == after


def test_a_fix_is_not_applied_when_the_file_changed_since_the_check(tmp_path):
    root = project(tmp_path, {"app/m.py": "x = 1\ny = 2  # orgscope: ignore[ORG102]\n"})
    config, result = check(root)
    (root / "app/m.py").write_text("x = 1\n\ny = 2  # orgscope: ignore[ORG102]\n")
    plan = plan_fixes(result, config, active_rules(config))
    assert plan.files == []
    assert reasons(plan) == [("ORG901", "no safe fix: the file changed since it was checked")]


def test_unused_suppressions_are_removed(tmp_path):
    """ORG901 states its fix as a text edit of the comment; --fix applies it."""
    text, plan = fixed(tmp_path, {"app/api/routes.py": route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id, "clerk_org_id": clerk_org_id})  # orgscope: ignore[ORG102] old
        db.delete("calls", {"status": "x"})  # orgscope: ignore[ORG102, ORG105] purge
    """)})
    assert sorted(f.rule for f, _ in plan.files[0].applied) == ["ORG901", "ORG901"]
    assert 'db.delete("agents", {"id": item_id, "clerk_org_id": clerk_org_id})\n' in text
    assert 'db.delete("calls", {"status": "x"})  # orgscope: ignore[ORG102] purge\n' in text


# --- safety -------------------------------------------------------------------------

def test_a_fix_that_does_not_remove_the_finding_is_dropped(tmp_path):
    root = project(tmp_path, {"app/api/routes.py": route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id})
    """)})
    config, result = check(root)
    [finding] = result.active
    finding.fix = _rewritten(finding.fix, '"clerk_org_id"', '"status"')  # a wrong fix
    plan = plan_fixes(result, config, active_rules(config))
    assert plan.files == []
    assert reasons(plan) == [("ORG102", "no safe fix: fix dropped: ORG102 is still reported")]


def _rewritten(fix, old, new):
    """`fix` with `old` replaced by `new` in its edits."""
    return Fix(fix.description, tuple(TextEdit(e.span, e.replacement.replace(old, new))
                                      for e in fix.edits))


@pytest.mark.parametrize("value, reason", [
    ("class", "fix dropped: the fixed file does not parse"),  # `"clerk_org_id": class`
    ("unknown_value", "fix dropped: it would add ORG301"),  # a new undefined name
])
def test_a_fix_that_breaks_the_file_is_dropped(tmp_path, value, reason):
    root = project(tmp_path, {"app/api/routes.py": route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id})
    """)})
    config, result = check(root)
    [finding] = result.active
    finding.fix = _rewritten(finding.fix, ": clerk_org_id", f": {value}")
    plan = plan_fixes(result, config, active_rules(config))
    assert plan.files == []
    assert reasons(plan) == [("ORG102", f"no safe fix: {reason}")]


def test_edits_outside_the_file_or_overlapping_another_fix_are_refused(tmp_path):
    root = project(tmp_path, {"app/api/routes.py": route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id})
        db.delete("calls", {"id": item_id})
    """)})
    config, result = check(root)
    first, second = result.active
    outside = Fix("x", (TextEdit(Span(99, 1, 99, 1), "x"),))
    first.fix, keep = outside, second.fix
    plan = plan_fixes(result, config, active_rules(config))
    assert reasons(plan) == [("ORG102", "no safe fix: the fix points outside the file")]
    assert plan.fixed == 1
    # a fix whose edit overlaps one applied before it (bottom-up: `second` first)
    [edit] = keep.edits
    line = second.line
    first.fix = Fix("y", (TextEdit(Span(line, 1, line, edit.span.column + 1), "    "),))
    plan = plan_fixes(result, config, active_rules(config))
    assert reasons(plan) == [("ORG102", "no safe fix: it overlaps another fix; run --fix again")]


def test_files_that_do_not_parse_are_never_touched(tmp_path):
    broken = "from app.core.exceptions import NotFoundError\ndef f(:\n    raise ValidationError()\n"
    root = project(tmp_path, {"app/core/exceptions.py": EXCEPTIONS, "app/broken.py": broken})
    config, result = check(root)
    result.findings.append(Finding(
        rule="ORG301", name="undefined-name", severity="error", path="app/broken.py", line=3,
        column=11, end_line=3, end_column=26, message="x",
        fix=Fix("import `ValidationError` from `app.core.exceptions`", (TextEdit(
            Span(2, 1, 2, 1), "from app.core.exceptions import ValidationError\n"),))))
    plan = plan_fixes(result, config, active_rules(config))
    assert plan.files == [] and reasons(plan) == [
        ("ORG301", "no safe fix: the file does not parse")]
    assert (root / "app/broken.py").read_text() == broken


def test_fix_twice_changes_nothing_the_second_time(tmp_path):
    copy = tmp_path / "backend"
    shutil.copytree(FIXTURE, copy)
    plan, before = plan_for(copy)
    assert plan.fixed >= 6
    assert write_fixes(plan) == []
    snapshot = {p: p.read_bytes() for p in copy.rglob("*.py")}
    second, after = plan_for(copy)
    assert second.files == [] and second.fixed == 0
    write_fixes(second)
    assert {p: p.read_bytes() for p in copy.rglob("*.py")} == snapshot
    assert len(after.active) == len(before.active) - plan.fixed
    fixed = sorted((f.path, f.rule) for file in plan.files for f, _ in file.applied)
    assert ("app/api/v1/export.py", "ORG301") in fixed
    assert ("app/api/v1/campaigns.py", "ORG102") in fixed
    assert not [f for f in after.active if f.rule == "ORG301"]


def test_bytes_encoding_bom_newlines_and_mode_are_kept(tmp_path):
    body = ('# -*- coding: latin-1 -*-\r\n"""Caf\xe9 routes."""\r\n' + route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id})  # caf\xe9
    """).replace("\n", "\r\n"))
    root = project(tmp_path, {"app/api/routes.py": body.encode("latin-1"),
                              "app/api/bom.py": b"\xef\xbb\xbf" + route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id})
    """).encode()})
    for name in ("routes.py", "bom.py"):
        os.chmod(root / "app/api" / name, 0o640)
    plan, _ = plan_for(root)
    assert write_fixes(plan) == [] and plan.fixed == 2
    latin = (root / "app/api/routes.py").read_bytes()
    assert latin == body.replace('{"id": item_id}', '{"id": item_id, "clerk_org_id": clerk_org_id}'
                                 ).encode("latin-1")
    bom = (root / "app/api/bom.py").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf") and b'"clerk_org_id": clerk_org_id}' in bom
    for name in ("routes.py", "bom.py"):
        assert stat.S_IMODE(os.stat(root / "app/api" / name).st_mode) == 0o640


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_during_the_write_leaves_the_original_intact(tmp_path, monkeypatch, failure):
    root = project(tmp_path, {"app/api/routes.py": route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id})
    """)})
    target = root / "app/api/routes.py"
    original = target.read_bytes()
    plan, _ = plan_for(root)
    assert plan.files

    def crash(src, dst):
        raise failure

    monkeypatch.setattr(atomic.os, "replace", crash)
    if isinstance(failure, OSError):
        assert [(f.path, why) for f, why in write_fixes(plan)] == [("app/api/routes.py",
                                                                    "disk full")]
    else:
        with pytest.raises(KeyboardInterrupt):
            write_fixes(plan)
    assert target.read_bytes() == original
    assert sorted(p.name for p in target.parent.iterdir()) == ["routes.py"]


def test_a_file_changed_since_the_check_is_not_written(tmp_path):
    root = project(tmp_path, {"app/api/routes.py": route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id})
    """)})
    plan, _ = plan_for(root)
    (root / "app/api/routes.py").write_text("x = 1\n")
    assert [(f.path, why) for f, why in write_fixes(plan)] == [("app/api/routes.py",
                                                                "changed on disk")]
    assert (root / "app/api/routes.py").read_text() == "x = 1\n"


# --- command line ---------------------------------------------------------------------

def cli(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "orgscope_lint", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


def test_cli_diff_on_the_fixture_writes_nothing(tmp_path):
    copy = tmp_path / "backend"
    shutil.copytree(FIXTURE, copy)
    before = {p: p.read_bytes() for p in copy.rglob("*.py")}
    done = cli("check", "--diff", str(copy))
    assert done.returncode == 1, done.stderr
    assert "+from app.core.exceptions import NotFoundError, ValidationError\n" in done.stdout
    assert '+    target = kb_store.select_one("knowledge_bases", {"id": kb_id, "clerk_org_id": ' \
        'clerk_org_id})' in done.stdout
    # (the telephony holders' update is scoped now: its ids come from a scoped result)
    assert '+            "clerk_org_id": clerk_org_id,\n' in done.stdout
    assert "no safe fix: the filter is not a dict literal in the call" in done.stderr
    assert {p: p.read_bytes() for p in copy.rglob("*.py")} == before


def test_cli_fix_then_check_again_and_compile(tmp_path):
    copy = tmp_path / "backend"
    shutil.copytree(FIXTURE, copy)
    done = cli("check", "--fix", "--format", "json", str(copy))
    assert done.returncode == 1, done.stderr  # unfixable findings remain
    assert "applied" in done.stderr
    assert '"rule": "ORG301"' not in done.stdout
    again = cli("check", "--diff", str(copy))
    assert again.returncode == 0 and again.stdout == ""
    compiled = subprocess.run([sys.executable, "-m", "compileall", "-q", str(copy)],
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stdout


def test_cli_fix_and_diff_together_is_a_usage_error():
    done = cli("check", "--fix", "--diff", str(FIXTURE))
    assert done.returncode == 2 and "exclude each other" in done.stderr


def test_cli_fix_only_touches_the_selected_rules(tmp_path):
    copy = tmp_path / "backend"
    shutil.copytree(FIXTURE, copy)
    before = {p: p.read_bytes() for p in copy.rglob("*.py")}
    done = cli("check", "--fix", "--select", "ORG301", "-q", str(copy))
    assert done.returncode == 0, done.stdout + done.stderr
    changed = sorted(p.relative_to(copy).as_posix() for p in before
                     if p.read_bytes() != before[p])
    assert changed == ["app/api/v1/export.py"]


def test_terminal_output_marks_fixable_findings(tmp_path):
    from orgscope_lint.report.terminal import render
    root = project(tmp_path, {"app/api/routes.py": route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id})
        db.delete("calls", {"id": item_id}) if item_id else None
        filters = {"id": item_id}
        db.delete("tools", filters)
    """)})
    _, result = check(root)
    text = render(result, color=False)
    assert text.count("[*] delete of tenant table") == 2
    assert "[*] delete of tenant table 'tools'" not in text
    assert "2 fixable with --fix ([*])" in text


def test_the_recheck_sees_the_schema_from_migrations(tmp_path):
    """The tenant key of `widgets` comes from the migrations (organization_id):
    the re-check must use the same schema as the check, or it would drop the fix."""
    text, plan = fixed(tmp_path, {
        "database/migrations/001_widgets.sql":
            "CREATE TABLE widgets (id uuid PRIMARY KEY, organization_id text NOT NULL);\n",
        "app/api/routes.py": route("""\
            org = current_user["clerk_org_id"]
            return db.select_one("widgets", {"id": item_id})
        """)})
    assert reasons(plan) == []
    assert 'db.select_one("widgets", {"id": item_id, "organization_id": org})' in text


def test_supabase_insert_row_in_a_chain(tmp_path):
    config = PYPROJECT + '\n[tool.orgscope-lint.db]\npresets = ["supabase"]\n'
    text, plan = fixed(tmp_path, {"pyproject.toml": config, "app/api/routes.py": """\
        from fastapi import Depends
        from supabase import create_client

        from app.core.auth import get_current_user

        supabase = create_client("url", "key")


        async def create(name: str, current_user: dict = Depends(get_current_user)):
            org = current_user["clerk_org_id"]
            supabase.table("agents").insert({"name": name}).execute()
            supabase.table("agents").update({"name": name}).eq("id", name).execute()
        """})
    assert 'supabase.table("agents").insert({"name": name, "clerk_org_id": org}).execute()' \
        in text
    assert reasons(plan) == [("ORG102", "no safe fix: the filter is not a dict literal in the call")]


def test_diff_of_a_file_without_final_newline_and_symlinked_files(tmp_path):
    source = route("""\
        clerk_org_id = current_user["clerk_org_id"]
        db.delete("agents", {"id": item_id})""")
    root = project(tmp_path, {"app/real/routes.py": source})
    (root / "app/api").mkdir(parents=True)
    os.symlink(root / "app/real/routes.py", root / "app/api/routes.py")
    config, result = check(root / "app/api")
    plan = plan_fixes(result, config, active_rules(config))
    assert plan.diff().endswith(
        '-    db.delete("agents", {"id": item_id})\n\\ No newline at end of file\n'
        '+    db.delete("agents", {"id": item_id, "clerk_org_id": clerk_org_id})\n'
        '\\ No newline at end of file\n')
    assert write_fixes(plan) == []
    assert (root / "app/api/routes.py").is_symlink()
    assert (root / "app/real/routes.py").read_text().endswith(
        '{"id": item_id, "clerk_org_id": clerk_org_id})')
