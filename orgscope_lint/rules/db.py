"""Tenant scoping of database calls: ORG101–ORG106."""
from __future__ import annotations

import dataclasses
import inspect
import re
from typing import ClassVar, List, Optional, Tuple

from ..facts import FileFacts, RawFinding
from ..model import DbCall, Fix, FixChoice, Operation, Outcome, Span
from ..route_facts import FLASK_REQUEST, PARAM
from ..routing import route_table
from ..statement_helpers import definition_call, revised
from .db_shapes import (INSERTS_INVALID as _SHAPE_INSERTS_INVALID,
                        INSERTS_VALID as _SHAPE_INSERTS_VALID,
                        READS_INVALID as _SHAPE_READS_INVALID, READS_VALID as _SHAPE_READS_VALID,
                        WRITES_INVALID as _SHAPE_WRITES_INVALID,
                        WRITES_VALID as _SHAPE_WRITES_VALID)
from .base import Example, Rule

CONDITIONAL, EMPTY_FILTER, UNKNOWN, UNSCOPED = (Outcome.CONDITIONAL, Outcome.EMPTY,
                                                Outcome.UNKNOWN, Outcome.UNSCOPED)
READ, WRITE, INSERT = Operation.READ, Operation.WRITE, Operation.INSERT
# examples of the supabase-py chain forms
_SUPABASE = {"db": {"presets": ["dbservice", "supabase"]}}

_SCHEMA_FILES = {"db/001.sql": (
    "CREATE TABLE phone_numbers (id uuid PRIMARY KEY, clerk_org_id text);\n"
    "CREATE TABLE agents (id uuid PRIMARY KEY, clerk_org_id text,\n"
    "  outbound_phone_number_id uuid REFERENCES phone_numbers(id));\n"
    "CREATE TABLE calls (id uuid PRIMARY KEY, clerk_org_id text,\n"
    "  agent_id uuid REFERENCES agents(id));\n"
    "ALTER TABLE phone_numbers ENABLE ROW LEVEL SECURITY;\n"
    "ALTER TABLE agents ENABLE ROW LEVEL SECURITY;\n"
    "ALTER TABLE calls ENABLE ROW LEVEL SECURITY;\n")}
_WITH_SCHEMA = {"schema": ["db/*.sql"]}
_TASKS = {"tenant-tables": ["tasks", "task_comments"],
          "parent-keys": {"task_comments": "task_id -> tasks"}}
_NOTES = {"tenant-tables": ["notes"], "principal-keys": ["user_id"]}

# Proofs of tenancy (analysis/proofs.py): a statement without the tenant key
# is scoped when it pins a verified id; the negative twins stay findings.
_PROOF_WRITES_VALID = (
    """
    from fastapi import HTTPException

    def pause(db, agent_id, org):
        agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
        if not agent:
            raise HTTPException(status_code=404)
        db.update("agents", {"id": agent_id}, {"status": "paused"})
    """,
    Example(
        """
        def pause(supabase, agent_id, org):
            supabase.table("agents").select("id").eq("id", agent_id).eq(
                "clerk_org_id", org).single().execute()
            supabase.table("agents").update({"status": "paused"}).eq("id", str(agent_id)).execute()
        """,
        config=_SUPABASE,
    ),
    Example(
        """
        def release(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
            db.update("phone_numbers", {"id": agent["outbound_phone_number_id"]}, {"busy": False})
        """,
        config=_WITH_SCHEMA, files=_SCHEMA_FILES,
    ),
    Example(
        """
        from app.core.access import check_agent_access

        def archive(db, agent_id, org):
            check_agent_access(agent_id, org)
            db.update("agents", {"id": agent_id}, {"status": "archived"})
        """,
        config={"scoping-helpers": ["check_agent_access"]},
    ),
    """
    def _set_status(db, agent_id, status):
        db.update("agents", {"id": agent_id}, {"status": status})

    def pause(db, agent_id, org):
        if not db.select_one("agents", {"id": agent_id, "clerk_org_id": org}):
            raise LookupError(agent_id)
        _set_status(db, agent_id, "paused")
    """,
    # an access check in code: the row's tenant key compared with the caller's, then leave
    """
    from fastapi import HTTPException

    def pause(db, agent_id, org):
        agent = db.select_one("agents", {"id": agent_id})
        if not agent or agent["clerk_org_id"] != org:
            raise HTTPException(status_code=404)
        db.update("agents", {"id": agent_id}, {"status": "paused"})
    """,
    # the id of the row just inserted with the tenant key
    Example(
        """
        def create_project(supabase, org, name):
            project = supabase.table("projects").insert({"name": name, "clerk_org_id": org}).execute()
            project_id = project.data[0]["id"]
            supabase.table("projects").update({"ready": True}).eq("id", project_id).execute()
        """,
        config=_SUPABASE,
    ),
    # each row of a result loaded with the tenant key
    """
    def pause_all(db, org):
        for agent in db.select("agents", {"clerk_org_id": org}):
            db.update("agents", {"id": agent["id"]}, {"status": "paused"})
    """,
    # caller-verified through a project helper that returns None when the row is missing
    Example(
        """
        from app.access import load_agent

        def _set_status(db, agent_id, status):
            db.update("agents", {"id": agent_id}, {"status": status})

        def pause(db, agent_id, org):
            agent = load_agent(db, agent_id, org)
            if agent is None:
                raise LookupError(agent_id)
            _set_status(db, agent_id, "paused")
        """,
        files={"app/access.py": (
            "def load_agent(db, agent_id, org):\n"
            "    agent = db.select_one('agents', {'id': agent_id, 'clerk_org_id': org})\n"
            "    if not agent:\n"
            "        return None\n"
            "    return agent\n")},
    ),
)
def _fixed(code: str, old: str, new: str, **options) -> Example:
    """An INVALID example and its `--fix` result (`old` becomes `new` in the code)."""
    code = inspect.cleandoc(code) + "\n"
    return Example(code, fixed=code.replace(old, new), **options)


_ID_ONLY, _ID_AND_ORG = '{"id": agent_id}', '{"id": agent_id, "clerk_org_id": org}'
_PROOF_WRITES_INVALID = (
    _fixed("""
    def pause(db, agent_id, org):
        agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
        db.update("agents", {"id": agent_id}, {"status": "paused"})  # expect: ORG102
        return agent
    """, _ID_ONLY, _ID_AND_ORG),
    _fixed("""
    def pause(db, agent_id, org, log):
        agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
        if not agent:
            log.warning("no agent %s", agent_id)
        db.update("agents", {"id": agent_id}, {"status": "paused"})  # expect: ORG102
    """, _ID_ONLY, _ID_AND_ORG),
    _fixed("""
    def pause(db, agent_id, org):
        if not db.select_one("agents", {"id": agent_id, "clerk_org_id": org}):
            raise LookupError(agent_id)
        db.delete("calls", {"id": agent_id})  # expect: ORG102
    """, 'db.delete("calls", {"id": agent_id})',
        'db.delete("calls", {"id": agent_id, "clerk_org_id": org})'),
    _fixed("""
    def release(db, agent_id, number_id, org):
        agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
        if not agent:
            raise LookupError(agent_id)
        db.update("phone_numbers", {"id": number_id}, {"busy": False})  # expect: ORG102
    """, '{"id": number_id}', '{"id": number_id, "clerk_org_id": org}',
        config=_WITH_SCHEMA, files=_SCHEMA_FILES),
    """
    def _set_status(db, agent_id, status):
        db.update("agents", {"id": agent_id}, {"status": status})  # expect: ORG102

    def pause(db, agent_id, org):
        if not db.select_one("agents", {"id": agent_id, "clerk_org_id": org}):
            raise LookupError(agent_id)
        _set_status(db, agent_id, "paused")

    def resume(db, agent_id):
        _set_status(db, agent_id, "active")
    """,
    # the comparison only logs: the update runs for any organization's agent
    """
    def pause(db, agent_id, org, log):
        agent = db.select_one("agents", {"id": agent_id})  # expect: ORG101
        if agent["clerk_org_id"] != org:
            log.warning("agent %s is another organization's", agent_id)
        db.update("agents", {"id": agent_id}, {"status": "paused"})  # expect: ORG102
    """,
    # compared with an organization the request names
    """
    from fastapi import APIRouter, Depends, HTTPException
    from app.core.auth import get_current_user

    router = APIRouter()

    @router.post("/agents/{agent_id}/pause")
    def pause(db, agent_id: str, org: str, user: dict = Depends(get_current_user)):
        agent = db.select_one("agents", {"id": agent_id})  # expect: ORG101
        if agent["clerk_org_id"] != org:
            raise HTTPException(status_code=403)
        db.update("agents", {"id": agent_id}, {"status": "paused"})  # expect: ORG102
    """,
    # `==` then return: the rest of the function runs for another organization's agent
    """
    def pause(db, agent_id, org):
        agent = db.select_one("agents", {"id": agent_id})
        if agent["clerk_org_id"] == org:
            return agent
        db.update("agents", {"id": agent_id}, {"status": "paused"})  # expect: ORG102
    """,
    # `==` then leave: it leaves for the caller's own agent, and goes on
    # with another organization's
    """
    from fastapi import HTTPException

    def claim(db, agent_id, org):
        agent = db.select_one("agents", {"id": agent_id})  # expect: ORG101
        if agent["clerk_org_id"] == org:
            raise HTTPException(status_code=409)
        db.update("agents", {"id": agent_id}, {"clerk_org_id": org})  # expect: ORG102
        return agent
    """,
    """
    def pause(db, agent_id, org):
        agent = db.select_one("agents", {"id": agent_id})  # expect: ORG101
        if agent["clerk_org_id"] == org:
            return None
        db.update("agents", {"id": agent["id"]}, {"status": "paused"})  # expect: ORG102
    """,
    # rows of a result loaded without the tenant key
    """
    def resume_all(db):
        for agent in db.select("agents", {"status": "paused"}):  # expect: ORG101
            db.update("agents", {"id": agent["id"]}, {"status": "active"})  # expect: ORG102
    """,
    # the helper's result is not tested: the id may be another organization's
    Example(
        """
        from app.access import load_agent

        def _set_status(db, agent_id, status):
            db.update("agents", {"id": agent_id}, {"status": status})  # expect: ORG102

        def pause(db, agent_id, org):
            load_agent(db, agent_id, org)
            _set_status(db, agent_id, "paused")
        """,
        files={"app/access.py": (
            "def load_agent(db, agent_id, org):\n"
            "    agent = db.select_one('agents', {'id': agent_id, 'clerk_org_id': org})\n"
            "    if not agent:\n"
            "        return None\n"
            "    return agent\n")},
    ),
)
_PROOF_READS_VALID = (
    # global existence checks: is a slug, or an id the code just generated, taken?
    Example(
        """
        import uuid
        from slugify import slugify

        def create_agent(supabase, name, org):
            slug = slugify(name)
            if supabase.table("agents").select("slug").eq("slug", slug).execute().data:
                raise ValueError("slug taken")
            agent_id = str(uuid.uuid4())
            taken = supabase.table("agents").select("id").eq("id", agent_id).execute()
            if taken.data:
                raise ValueError("retry")
            supabase.table("agents").insert(
                {"id": agent_id, "slug": slug, "clerk_org_id": org}).execute()
        """,
        config=_SUPABASE,
    ),
    # principal: every caller hands the function its own id from the auth context
    Example(
        """
        from fastapi import APIRouter, Depends
        from app.core.auth import get_current_user

        router = APIRouter()

        def _notes_of(db, user_id):
            return db.select("notes", {"user_id": user_id})

        @router.get("/me/notes")
        def my_notes(db, user: dict = Depends(get_current_user)):
            return _notes_of(db, user["user_id"])
        """,
        config=_NOTES,
    ),
    # principal checked in code: the row's owner compared with the caller
    Example(
        """
        from fastapi import Depends, HTTPException
        from app.core.auth import get_current_user

        def my_note(db, note_id, user: dict = Depends(get_current_user)):
            note = db.select_one("notes", {"id": note_id})
            if note is None or note["user_id"] != user["user_id"]:
                raise HTTPException(status_code=404)
            return note
        """,
        config=_NOTES,
    ),
    Example(
        """
        def comments(db, task_id, org):
            task = db.select_one("tasks", {"id": task_id, "clerk_org_id": org})
            if task is None:
                raise KeyError(task_id)
            return db.select("task_comments", {"task_id": task_id})
        """,
        config=_TASKS,
    ),
    Example(
        """
        from fastapi import Depends
        from app.core.auth import get_current_user

        def my_notes(db, user: dict = Depends(get_current_user)):
            return db.select("notes", {"user_id": user["user_id"]})
        """,
        config=_NOTES,
    ),
)
_PROOF_READS_INVALID = (
    # a slug's row read whole (or returned): not only its existence
    Example(
        """
        def agent_by_slug(supabase, slug):
            res = supabase.table("agents").select("*").eq("slug", slug).execute()  # expect: ORG101
            if res.data:
                return res.data[0]
        """,
        config=_SUPABASE,
    ),
    # an id from the caller, not generated: its existence tells about other organizations
    Example(
        """
        def agent_exists(supabase, agent_id):
            res = supabase.table("agents").select("id").eq("id", agent_id).execute()  # expect: ORG101
            return res
        """,
        config=_SUPABASE,
    ),
    Example(
        """
        from fastapi import APIRouter, Depends
        from app.core.auth import get_current_user

        router = APIRouter()

        def _notes_of(db, user_id):
            return db.select("notes", {"user_id": user_id})  # expect: ORG101

        @router.get("/users/{user_id}/notes")
        def notes(db, user_id: str, user: dict = Depends(get_current_user)):
            return _notes_of(db, user_id)
        """,
        config=_NOTES,
    ),
    Example(
        """
        def comments(db, task_id):
            return db.select("task_comments", {"task_id": task_id})  # expect: ORG101
        """,
        config=_TASKS,
    ),
    Example(
        """
        def notes_of(db, user_id):
            return db.select("notes", {"user_id": user_id})  # expect: ORG101
        """,
        config=_NOTES,
    ),
)
_PROOF_INSERTS_VALID = (
    Example(
        """
        def comment(db, task_id, org, text):
            if not db.select_one("tasks", {"id": task_id, "clerk_org_id": org}):
                raise KeyError(task_id)
            db.insert("task_comments", {"task_id": task_id, "text": text})
        """,
        config=_TASKS,
    ),
)
_PROOF_INSERTS_INVALID = (
    # the child has its own tenant column: a verified parent does not fill it
    Example(
        """
        def comment(db, task_id, org, text):
            if not db.select_one("tasks", {"id": task_id, "clerk_org_id": org}):
                raise KeyError(task_id)
            db.insert("task_comments", {"task_id": task_id, "text": text})  # expect: ORG103
        """,
        config={**_TASKS, **_WITH_SCHEMA},
        files={"db/001.sql": (
            "CREATE TABLE tasks (id uuid PRIMARY KEY, clerk_org_id text);\n"
            "CREATE TABLE task_comments (id uuid PRIMARY KEY, clerk_org_id text,\n"
            "  task_id uuid REFERENCES tasks(id), text text);\n"
            "ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;\n"
            "ALTER TABLE task_comments ENABLE ROW LEVEL SECURITY;\n")},
        fixed="""
        def comment(db, task_id, org, text):
            if not db.select_one("tasks", {"id": task_id, "clerk_org_id": org}):
                raise KeyError(task_id)
            db.insert("task_comments", {"task_id": task_id, "text": text, "clerk_org_id": org})  # expect: ORG103
        """,
    ),
    Example(
        """
        def comment(db, task_id, text):
            db.insert("task_comments", {"task_id": task_id, "text": text})  # expect: ORG103
        """,
        config=_TASKS,
    ),
)


class _DbOutcomeRule(Rule):
    """A query over the file's DB calls: those whose outcome and operation match."""

    outcomes: ClassVar[Tuple[Outcome, ...]] = ()
    operations: ClassVar[Tuple[Operation, ...]] = ()

    def findings_in_file(self, facts: FileFacts, config) -> List[RawFinding]:
        found = []
        for call in facts.db_calls:
            if call.operation not in self.operations:
                continue
            if call.outcome in self.outcomes:
                message = self.message(call)
            elif config.strict and call.outcome == UNKNOWN and self.reports_unknown(call):
                message = (f"{call.method} on '{call.table or '?'}' cannot be verified "
                           f"({call.detail}): make \"{call.tenant_key or config.tenant_key}"
                           "\" visible in the call (--strict)")
            else:
                continue
            found.append(RawFinding(
                self.code, call.span or Span(call.line, 1, call.line, 1), message,
                call.symbol, call.table, call.method, call.snippet,
                fix=call.fix if self.fixable else None, statement_line=call.statement_line,
                no_fix=call.no_fix if self.fixable else None,
                fix_choices=call.fix_choices if self.fixable else None))
        return found

    def _caller_verified(self, project, path: str,
                         finding: RawFinding) -> Optional[RawFinding]:
        """Caller-verified parameters: a call keyed only by a parameter of its
        function is scoped when every caller in the project passes a value
        verified for the table; otherwise the finding names a caller that does not."""
        facts = project.by_path.get(path)
        if facts is not None:
            helper = _helper_verified(project, facts, finding)
            if helper is not None:
                project.proven[(path, finding.span.line)] = (
                    f"scoped: verified by the scoping helper `{helper}`")
                return None
        alternatives = [k for k in (facts.keyed_params if facts else ())
                        if k.line == finding.span.line and k.qualname == finding.symbol]
        if not alternatives:
            return finding
        keyed = alternatives[0]
        callers = project.callers(keyed)
        if not callers:
            return finding
        unverified = [(caller, site) for caller, site in callers
                      if not any(_verified(project, caller, site, k) for k in alternatives)]
        if not unverified:
            project.proven[(path, finding.span.line)] = (
                f"scoped: `{keyed.param}` verified for '{keyed.table}' by every caller "
                f"({len(callers)})")
            return None
        caller, site = unverified[0]
        where = f"{caller.path}:{site.span.line}" + (f" (`{site.symbol}`)" if site.symbol else "")
        source = (", straight from the route's parameters" if site.in_route
                  and _from_request(site, keyed) else "")
        others = f" and {len(unverified) - 1} more" if len(unverified) > 1 else ""
        # the caller now says where the unverified value comes from
        message = re.sub(r" \(`[^`]+` points at the parent '[^']+', but it is a parameter of "
                         r"`[^`]+` and was not verified\)", "", finding.message)
        message = message.replace(
            ": add ", f" (`{keyed.param}` is not verified for '{keyed.table}' by the caller at "
                      f"{where}{source}{others}): add ", 1)
        return dataclasses.replace(finding, message=message)

    def check_project(self, project, emit) -> None:
        """A statement helper of another module (`repository.get_readable_statement`)
        whose statement some use runs unscoped: one finding at its definition."""
        for entry in revised(project).helpers:
            call = definition_call(entry)
            if call.operation not in self.operations or call.outcome not in self.outcomes:
                continue
            facts, first = entry.unscoped[0]
            more = f" and {len(entry.unscoped) - 1} more" if len(entry.unscoped) > 1 else ""
            message = self.message(call)
            where = (f" (returned by `{call.symbol}` and run without the tenant key at "
                     f"{facts.path}:{first.line}{more})")
            message = message.replace(": add ", where + ": add ", 1) if ": add " in message \
                else message + where
            emit(call.path, RawFinding(self.code, Span(call.line, 1, call.line, 1), message,
                                       call.symbol, call.table, call.method,
                                       no_fix="the statement is returned to callers that may "
                                              "scope it themselves"))
        for facts, call in revised(project).uses:  # a generic helper's uses, one by one
            if call.operation in self.operations and call.outcome in self.outcomes:
                emit(facts.path, RawFinding(
                    self.code, call.span or Span(call.line, 1, call.line, 1),
                    self.message(call), call.symbol, call.table, call.method, call.snippet,
                    statement_line=call.statement_line, no_fix=call.no_fix))
        if UNSCOPED in self.outcomes:
            # filters and rows built across a function boundary (passed_values.py):
            # a caller passing one without the tenant key, another module's
            # helper building one without it
            from ..passed_values import findings
            for path, finding in findings(project, self.code, self.operations, self.message):
                emit(path, finding)

    def reports_unknown(self, call: DbCall) -> bool:
        """With --strict, an unverifiable call is reported once, by the rule
        for its operation's unscoped outcome (ORG101, ORG102 or ORG103)."""
        return UNSCOPED in self.outcomes

    def message(self, call: DbCall) -> str:
        raise NotImplementedError

    def revise(self, project, path: str, finding: RawFinding) -> Optional[RawFinding]:
        """Drop a finding its callers prove scoped (or name the caller that
        does not); then choose the tenant-key fix: the one candidate whose
        value is trusted once its dependencies are judged as the route
        analysis judges them."""
        from ..passed_values import judged
        if project.config.strict and judged(project, path, finding.span.line, finding.symbol):
            return None  # its filter or row is judged where it is built (check_project)
        finding = self._caller_verified(project, path, finding)
        if finding is None or finding.fix_choices is None:
            return finding
        table = route_table(project)
        facts = project.by_path[path]
        fix, reason = _choose(finding.fix_choices,
                              lambda dependency: table.auth_chain(facts, dependency) is not None)
        return dataclasses.replace(finding, fix=fix, no_fix=reason, fix_choices=None)


def _choose(choices: Tuple[FixChoice, ...], is_auth) -> Tuple[Optional[Fix], Optional[str]]:
    """(the fix, None) or (None, why there is no safe one)."""
    usable = [c for c in choices if all(is_auth(d) for d in c.requires)]
    if not usable:
        return None, ("no trusted tenant value in scope (a local read from the auth context "
                      "or the function's tenant parameter)")
    if len(usable) > 1:
        names = sorted(name for choice in usable for name in choice.names)
        return None, f"several tenant values in scope ({', '.join(names)}): choose one"
    return usable[0].fix, None


class UnscopedRead(_DbOutcomeRule):
    """Read of a tenant table whose filter lacks the tenant key on every path.

    ## What it does
    Flags `select`, `select_one`, `count` (and configured read methods) on a
    tenant-owned table when the filter never contains the tenant key
    (`clerk_org_id` by default, or the table's own column from `table-keys` or
    the schema). Filters are followed across statements: dict literals,
    `dict(...)`, `{**a, k: v}`, `d[k] = v`, `update`, `setdefault`, `|=`,
    `pop`/`del`, branches, loops and try blocks.

    ## Why is this bad?
    Any organization that knows (or guesses) an id reads another
    organization's row.

    ## Example
    ```python
    agent = db.select_one("agents", {"id": agent_id})
    ```

    ## Use instead
    ```python
    agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": clerk_org_id})
    ```

    ## Fix
    `--fix` adds `"<tenant key>": <value>` as the last entry when the filter is a
    dict literal in the call and exactly one trusted tenant value is in scope: a
    local read from the auth context on every path, or the function's tenant
    parameter. Otherwise `--fix` and `--diff` say why there is no safe fix.

    ## Proofs of tenancy
    A filter without the tenant key is still scoped when it pins the table's
    primary key (or a parent key) to an id proven to be the caller's: loaded
    with the tenant key and followed by a guard that leaves (`if not row:
    raise`), read from a row loaded with the tenant key, handed to a
    `scoping-helpers` function, or passed verified by every caller; or when it
    pins a `principal-keys` column to the caller's own id. An access check in
    code counts too: the row loaded by id, then `if row["<tenant key>"] != org:
    raise` (or `==` and return), and so do the rows of a tenant-scoped result
    iterated by a `for` loop. The message says which proof is missing; the
    report lists the proof used.

    ## Global existence checks
    A read that only asks whether a slug, or an id the code just generated
    (`uuid4()`, `secrets.token_urlsafe()`, `slugify(...)`), is taken (one key,
    selecting only that key, its result used only as a truth value) reads no
    organization's row: it is not reported, and the report lists it as a
    global existence check.

    ## Options
    `tenant-key`, `table-keys`, `tenant-tables`, `global-tables`, `db.methods`,
    `parent-keys`, `principal-keys`, `scoping-helpers`.
    """

    code = "ORG101"
    name = "unscoped-read"
    outcomes = (UNSCOPED,)
    operations = (READ,)
    fixable = True
    VALID = (
        """
        def get_agent(db, agent_id, clerk_org_id):
            return db.select_one("agents", {"id": agent_id, "clerk_org_id": clerk_org_id})
        """,
        """
        def list_calls(db, clerk_org_id, status=None):
            filters = {"clerk_org_id": clerk_org_id}
            if status:
                filters["status"] = status
            return db.select("calls", filters)
        """,
        """
        def by_dict_call(db, call_id, org):
            return db.select("calls", dict(id=call_id, clerk_org_id=org))
        """,
        """
        def merged(db, base, org):
            return db.select("calls", {**base, "clerk_org_id": org})
        """,
        """
        def updated(db, org, ids):
            filters = {"id": ids}
            filters.update({"clerk_org_id": org})
            return db.count("calls", filters=filters)
        """,
        Example(
            """
            def other_column(db, number_id, org):
                return db.select("phone_numbers", {"id": number_id, "organization_id": org})
            """,
            config={"table-keys": {"phone_numbers": "organization_id"}},
        ),
        Example(
            """
            def templates(db):
                return db.select("agent_templates", {"public": True})
            """,
            config={"global-tables": ["agent_templates"]},
        ),
        """
        def opaque(db, build_filters):
            return db.select("calls", build_filters())
        """,
        """
        def in_loop(db, org, keys):
            filters = {}
            for key in keys:
                filters[key] = True
            filters["clerk_org_id"] = org
            return db.select("calls", filters)
        """,
        """
        def with_try(db, org):
            try:
                filters = {"clerk_org_id": org}
            except KeyError:
                raise
            return db.select("calls", filters)
        """,
        Example(
            """
            def list_agents(supabase, org, status=None):
                query = supabase.table("agents").select("*").eq("clerk_org_id", org)
                if status:
                    query = query.eq("status", status)
                return query.execute()
            """,
            config=_SUPABASE,
        ),
        *_PROOF_READS_VALID,
        *_SHAPE_READS_VALID,
    )
    INVALID = (
        """
        def get_agent(db, agent_id):
            return db.select_one("agents", {"id": agent_id})  # expect: ORG101
        """,
        Example(
            """
            from fastapi import Depends

            from app.core.auth import get_current_user

            async def get_agent(db, agent_id: str, current_user: dict = Depends(get_current_user)):
                clerk_org_id = current_user["clerk_org_id"]
                return db.select_one("agents", {"id": agent_id})  # expect: ORG101
            """,
            fixed="""
            from fastapi import Depends

            from app.core.auth import get_current_user

            async def get_agent(db, agent_id: str, current_user: dict = Depends(get_current_user)):
                clerk_org_id = current_user["clerk_org_id"]
                return db.select_one("agents", {"id": agent_id, "clerk_org_id": clerk_org_id})  # expect: ORG101
            """,
        ),
        """
        def popped(db, org, call_id):
            filters = {"id": call_id, "clerk_org_id": org}
            filters.pop("clerk_org_id")
            return db.select("calls", filters)  # expect: ORG101
        """,
        """
        def deleted(db, org, call_id):
            filters = {"id": call_id, "clerk_org_id": org}
            del filters["clerk_org_id"]
            return db.select("calls", filters)  # expect: ORG101
        """,
        Example(
            """
            def wrong_column(db, number_id, org):
                return db.select("phone_numbers", {"id": number_id, "clerk_org_id": org})  # expect: ORG101
            """,
            config={"table-keys": {"phone_numbers": "organization_id"}},
        ),
        """
        from app.core.database import DatabaseService

        class Reports:
            def __init__(self):
                self.store = DatabaseService()

            def run(self, status):
                return self.store.count(  # expect: ORG101
                    "calls",
                    filters={"status": status},
                )
        """,
        """
        from app.core.database import DatabaseService

        def annotated(store: "DatabaseService", call_id):
            return store.select("calls", {"id": call_id})  # expect: ORG101
        """,
        Example(
            """
            def get_agent(supabase, agent_id):
                return supabase.from_("agents").select("*").eq("id", agent_id).execute()  # expect: ORG101
            """,
            config=_SUPABASE,
        ),
        *_PROOF_READS_INVALID,
        *_SHAPE_READS_INVALID,
    )

    def message(self, call: DbCall) -> str:
        return (f"{call.method} on tenant table '{call.table}' {call.detail}: "
                f"add \"{call.tenant_key}\" to the filter")


class UnscopedWrite(_DbOutcomeRule):
    """Update or delete on a tenant table whose filter lacks the tenant key.

    ## What it does
    Flags `update` and `delete` calls on tenant-owned tables whose filter never
    contains the tenant key, however the filter was built.

    ## Why is this bad?
    A write keyed only by id lets any organization that knows an id change or
    delete another organization's row (the seed review's telephony fix).

    ## Example
    ```python
    db.update("agents", {"id": old_agent_id}, {"inbound_phone_number_id": None})
    ```

    ## Use instead
    ```python
    db.update("agents", {"id": old_agent_id, "clerk_org_id": organization_id},
              {"inbound_phone_number_id": None})
    ```

    ## Fix
    `--fix` adds `"<tenant key>": <value>` as the last entry when the filter is a
    dict literal in the call and exactly one trusted tenant value is in scope: a
    local read from the auth context on every path, or the function's tenant
    parameter. Otherwise `--fix` and `--diff` say why there is no safe fix.
    """

    code = "ORG102"
    name = "unscoped-write"
    outcomes = (UNSCOPED,)
    operations = (WRITE,)
    fixable = True
    VALID = (
        """
        from app.core.database import DatabaseService

        class TelephonyService:
            def __init__(self):
                self.db = DatabaseService()

            def unassign(self, organization_id, agent_id):
                self.db.update("agents", {"id": agent_id, "clerk_org_id": organization_id},
                               {"inbound_phone_number_id": None})
        """,
        """
        def remove(db, org, contact_id):
            filters = {"id": contact_id}
            filters.setdefault("clerk_org_id", org)
            db.delete("contacts", filters)
        """,
        """
        def remove_all(db, org, folder):
            filters = {"folder_id": folder}
            filters |= {"clerk_org_id": org}
            db.delete("contacts", filters=filters)
        """,
        Example(
            """
            def rename(supabase, agent_id, org, name):
                supabase.table("agents").update({"name": name}).match(
                    {"id": agent_id, "clerk_org_id": org}).execute()
            """,
            config=_SUPABASE,
        ),
        *_PROOF_WRITES_VALID,
        *_SHAPE_WRITES_VALID,
    )
    INVALID = (
        """
        from app.core.database import DatabaseService

        class TelephonyService:
            def __init__(self):
                self.db = DatabaseService()

            def assign(self, organization_id, old_agent_id):
                self.db.update("agents", {"id": old_agent_id}, {"inbound_phone_number_id": None})  # expect: ORG102
        """,
        Example(
            """
            def assign(db, organization_id, agent_id, number_id):
                db.update("agents", {"id": agent_id, "clerk_org_id": organization_id}, {"n": 1})
                db.update("phone_numbers", {  # expect: ORG102
                    "id": number_id,  # the number being moved
                }, {"agent_id": agent_id})
            """,
            config={"table-keys": {"phone_numbers": "organization_id"}},
            fixed="""
            def assign(db, organization_id, agent_id, number_id):
                db.update("agents", {"id": agent_id, "clerk_org_id": organization_id}, {"n": 1})
                db.update("phone_numbers", {  # expect: ORG102
                    "id": number_id,  # the number being moved
                    "organization_id": organization_id,
                }, {"agent_id": agent_id})
            """,
        ),
        """
        def remove(admin_db, contact_id):
            admin_db.delete("contacts", {"id": contact_id})  # expect: ORG102
        """,
        """
        from app.core.database import DatabaseService

        db = DatabaseService()

        def rename(call_id, name):
            filters = {"id": call_id}
            db.update(  # expect: ORG102
                "calls", filters, {"name": name}
            )
        """,
        Example(
            """
            def unassign(supabase, agent_id):
                supabase.table("agents").update({"inbound_phone_number_id": None}).eq(  # expect: ORG102
                    "id", agent_id).execute()
            """,
            config=_SUPABASE,
        ),
        *_PROOF_WRITES_INVALID,
        *_SHAPE_WRITES_INVALID,
    )

    def message(self, call: DbCall) -> str:
        return (f"{call.method} of tenant table '{call.table}' {call.detail}: "
                f"add \"{call.tenant_key}\" to the filter")


class InsertWithoutTenant(_DbOutcomeRule):
    """Insert, upsert or bulk insert whose row lacks the tenant key.

    ## What it does
    Flags `insert`, `upsert` and `bulk_insert` on tenant-owned tables when the
    row (or any row of a bulk insert) has no tenant key.

    ## Why is this bad?
    A row without the tenant key belongs to no organization (or to whichever
    one a later query happens to match): it leaks or disappears.

    ## Example
    ```python
    db.insert("agents", {"id": agent_id, "name": name})
    ```

    ## Use instead
    ```python
    db.insert("agents", {"id": agent_id, "name": name, "clerk_org_id": clerk_org_id})
    ```

    ## Fix
    `--fix` adds `"<tenant key>": <value>` as the last entry when the row is a
    dict literal in the call and exactly one trusted tenant value is in scope: a
    local read from the auth context on every path, or the function's tenant
    parameter. Otherwise `--fix` and `--diff` say why there is no safe fix.
    """

    code = "ORG103"
    name = "insert-without-tenant"
    outcomes = (UNSCOPED, EMPTY_FILTER)
    operations = (INSERT,)
    fixable = True
    VALID = (
        """
        def create(db, org, name):
            return db.insert("agents", {"name": name, "clerk_org_id": org})
        """,
        """
        def create_many(db, org, names):
            rows = [{"name": n, "clerk_org_id": org} for n in names]
            return db.bulk_insert("contacts", rows)
        """,
        """
        def create_appended(db, org, names):
            rows = []
            for n in names:
                rows.append({"name": n, "clerk_org_id": org})
            return db.bulk_insert("contacts", rows)
        """,
        Example(
            """
            def create(supabase, org, name):
                supabase.table("agents").insert({"name": name, "clerk_org_id": org}).execute()
            """,
            config=_SUPABASE,
        ),
        *_PROOF_INSERTS_VALID,
        *_SHAPE_INSERTS_VALID,
    )
    INVALID = (
        """
        def create(db, agent_id, name):
            return db.insert("agents", {"id": agent_id, "name": name})  # expect: ORG103
        """,
        """
        def create_two(db, org):
            db.bulk_insert("contacts", [  # expect: ORG103
                {"name": "a", "clerk_org_id": org},
                {"name": "b"},
            ])
        """,
        """
        def upsert_row(db, data):
            row = dict(name=data.name)
            db.upsert("agents", data=row)  # expect: ORG103
        """,
        Example(
            """
            def create(supabase, name):
                supabase.table("agents").upsert({"name": name}).execute()  # expect: ORG103
            """,
            config=_SUPABASE,
        ),
        Example(
            """
            def create(db, clerk_org_id, agent_id, name):
                db.select("agents", {"clerk_org_id": clerk_org_id})
                return db.insert(  # expect: ORG103
                    "agents",
                    {
                        "id": agent_id,
                        "name": name,  # shown in the UI
                    },
                )
            """,
            fixed="""
            def create(db, clerk_org_id, agent_id, name):
                db.select("agents", {"clerk_org_id": clerk_org_id})
                return db.insert(  # expect: ORG103
                    "agents",
                    {
                        "id": agent_id,
                        "name": name,  # shown in the UI
                        "clerk_org_id": clerk_org_id,
                    },
                )
            """,
        ),
        Example(
            """
            def create(supabase, clerk_org_id, name):
                supabase.table("agents").select("*").eq("clerk_org_id", clerk_org_id).execute()
                supabase.table("agents").insert({"name": name}).execute()  # expect: ORG103
            """,
            config=_SUPABASE,
            fixed="""
            def create(supabase, clerk_org_id, name):
                supabase.table("agents").select("*").eq("clerk_org_id", clerk_org_id).execute()
                supabase.table("agents").insert({"name": name, "clerk_org_id": clerk_org_id}).execute()  # expect: ORG103
            """,
        ),
        *_PROOF_INSERTS_INVALID,
        *_SHAPE_INSERTS_INVALID,
    )

    def message(self, call: DbCall) -> str:
        what = "a row of the bulk insert" if call.method == "bulk_insert" else "the row"
        # (a parent key pinned to an unverified id is said in the call's detail,
        # the report's evidence: the message stays one cause for the whole group)
        runs = f" (the query runs at line {call.runs_at})" if call.runs_at else ""
        return (f"{call.method} into tenant table '{call.table}'{runs}: {what} has no "
                f"\"{call.tenant_key}\": add it")


class ConditionalScope(_DbOutcomeRule):
    """The tenant key is in the filter on some paths only.

    ## What it does
    Flags DB calls whose filter (or row) gets the tenant key only under a
    condition, e.g. `if org_id: filters["clerk_org_id"] = org_id`. An earlier
    guard (`if not org_id: raise ...`) makes the condition always true and
    silences the rule.

    ## Why is this bad?
    When the condition is false (no org in the token, a caller passing `None`)
    the query silently runs across every organization.

    ## Example
    ```python
    filters = {"id": kb_id}
    if org_id:
        filters["clerk_org_id"] = org_id
    db.select_one("knowledge_bases", filters)
    ```

    ## Use instead
    ```python
    if not org_id:
        raise ValidationError("organization required")
    db.select_one("knowledge_bases", {"id": kb_id, "clerk_org_id": org_id})
    ```
    """

    code = "ORG104"
    name = "conditional-scope"
    severity = "warning"
    security_severity = "6.0"
    outcomes = (CONDITIONAL,)
    operations = (READ, WRITE, INSERT)
    VALID = (
        """
        def get_kb(db, kb_id, org_id):
            if not org_id:
                raise ValueError("organization required")
            filters = {"id": kb_id}
            if org_id:
                filters["clerk_org_id"] = org_id
            return db.select_one("knowledge_bases", filters)
        """,
        """
        def get_kb(db, kb_id, org_id):
            if org_id is None:
                raise ValueError("organization required")
            filters = {"id": kb_id}
            if org_id is not None:
                filters["clerk_org_id"] = org_id
            return db.select_one("knowledge_bases", filters)
        """,
        """
        def branches(db, kb_id, org_id, admin):
            if admin:
                filters = {"id": kb_id, "clerk_org_id": org_id}
            else:
                filters = {"clerk_org_id": org_id}
            return db.select("knowledge_bases", filters)
        """,
        Example(
            """
            def get_kb(supabase, kb_id, org_id):
                if not org_id:
                    raise ValueError("organization required")
                query = supabase.table("knowledge_bases").select("*").eq("id", kb_id)
                if org_id:
                    query = query.eq("clerk_org_id", org_id)
                return query.execute()
            """,
            config=_SUPABASE,
        ),
    )
    INVALID = (
        """
        def get_kb(db, kb_id, org_id):
            filters = {"id": kb_id}
            if org_id:
                filters["clerk_org_id"] = org_id
            return db.select_one("knowledge_bases", filters)  # expect: ORG104
        """,
        """
        def branches(db, kb_id, org_id, admin):
            if admin:
                filters = {"id": kb_id}
            elif org_id:
                filters = {"id": kb_id, "clerk_org_id": org_id}
            else:
                return None
            return db.select("knowledge_bases", filters)  # expect: ORG104
        """,
        """
        def early_break(db, kb_ids, org_id):
            filters = {}
            for kb_id in kb_ids:
                if kb_id == "x":
                    break
                filters["clerk_org_id"] = org_id
            db.delete("knowledge_bases", filters)  # expect: ORG104
        """,
        Example(
            """
            def get_kb(supabase, kb_id, org_id):
                query = supabase.table("knowledge_bases").select("*").eq("id", kb_id)
                if org_id:
                    query = query.eq("clerk_org_id", org_id)
                return query.execute()  # expect: ORG104
            """,
            config=_SUPABASE,
        ),
    )

    def message(self, call: DbCall) -> str:
        return (f"{call.method} on tenant table '{call.table}' has \"{call.tenant_key}\" "
                "only on some paths: add it unconditionally (reject a missing org id first)")


class UnfilteredScan(_DbOutcomeRule):
    """Empty or missing filter on a tenant table.

    ## What it does
    Flags reads, updates and deletes on a tenant-owned table with an empty
    filter (`{}`), `None`, or no filter argument at all.

    ## Why is this bad?
    The call touches every organization's rows. In a user request that is a
    data leak; in a webhook or a background task it may be intended: declare
    that code a system context with a reason.

    ## Example
    ```python
    campaigns = db.select("campaigns", {})
    ```

    ## Use instead
    ```python
    campaigns = db.select("campaigns", {"clerk_org_id": clerk_org_id})
    ```
    """

    code = "ORG105"
    name = "unfiltered-scan"
    outcomes = (EMPTY_FILTER,)
    operations = (READ, WRITE)
    VALID = (
        """
        def scoped(db, org):
            return db.select("campaigns", {"clerk_org_id": org})
        """,
        Example(
            """
            def batch_webhook(admin_db):
                return admin_db.select("campaigns", {})
            """,
            path="app/services/webhook_handlers.py",
            config={"system-contexts": [{"paths": ["app/services/webhook_handlers.py"],
                                         "reason": "system webhook"}]},
        ),
        Example(
            """
            def scoped(supabase, org):
                return supabase.table("campaigns").select("*").filter("clerk_org_id", "eq", org).execute()
            """,
            config=_SUPABASE,
        ),
    )
    INVALID = (
        """
        def everything(db):
            return db.select("campaigns", {})  # expect: ORG105
        """,
        """
        def no_filter(db):
            return db.count("calls")  # expect: ORG105
        """,
        """
        def none_filter(db):
            db.delete("calls", None)  # expect: ORG105
        """,
        Example(
            """
            def everything(supabase):
                return supabase.table("campaigns").select("id, status").execute()  # expect: ORG105
            """,
            config=_SUPABASE,
        ),
    )

    def message(self, call: DbCall) -> str:
        what = "no filter" if call.detail == "no filter" else "an empty filter"
        return (f"{call.method} on tenant table '{call.table}' has {what}: it reaches every "
                f"organization's rows; filter by \"{call.tenant_key}\"")


class UnscopedWrapperCall(Rule):
    """Call of a project function that scopes by a tenant parameter, without it.

    ## What it does
    A project function or method that puts one of its parameters into a DB
    call's tenant key (like `get_call(self, call_id, org_id=None)`) is a
    wrapper. Calls that omit that argument or pass `None` are flagged.

    ## Why is this bad?
    The wrapper scopes only when told the organization; called without it, it
    reads or writes across organizations.

    ## Example
    ```python
    call = db.get_call(call_id)
    ```

    ## Use instead
    ```python
    call = db.get_call(call_id, org_id=clerk_org_id)
    ```
    """

    code = "ORG106"
    name = "unscoped-wrapper-call"
    VALID = (
        """
        class DatabaseService:
            def get_call(self, call_id, org_id=None):
                filters = {"id": call_id}
                if org_id:
                    filters["clerk_org_id"] = org_id
                return self.select_one("calls", filters)  # expect: ORG104

        def handler(db, call_id, clerk_org_id):
            return db.get_call(call_id, org_id=clerk_org_id)
        """,
        """
        def fetch(db, call_id, org):
            return db.select_one("calls", {"id": call_id, "clerk_org_id": org})

        def handler(db, call_id, clerk_org_id):
            return fetch(db, call_id, clerk_org_id)
        """,
    )
    INVALID = (
        """
        class DatabaseService:
            def get_call(self, call_id, org_id=None):
                filters = {"id": call_id}
                if org_id:
                    filters["clerk_org_id"] = org_id
                return self.select_one("calls", filters)  # expect: ORG104

        def handler(db, call_id):
            return db.get_call(call_id)  # expect: ORG106
        """,
        """
        def fetch(db, call_id, org=None):
            return db.select_one("calls", {"id": call_id, "clerk_org_id": org})

        def handler(db, call_id):
            a = fetch(db, call_id)  # expect: ORG106
            b = fetch(db, call_id, None)  # expect: ORG106
            return a, b
        """,
        Example(
            """
            from app.services import telephony

            def route(org):
                service = telephony.TelephonyService()
                service.assign_number(None, "a", "n")  # expect: ORG106
                return telephony.release(number_id="n")  # expect: ORG106
            """,
            files={"app/services/telephony.py": (
                "from app.core.database import DatabaseService\n"
                "class TelephonyService:\n"
                "    def __init__(self):\n"
                "        self.db = DatabaseService()\n"
                "    def assign_number(self, organization_id, agent_id, number_id):\n"
                "        self.db.update('agents', {'id': agent_id, 'clerk_org_id': organization_id},"
                " {'n': number_id})\n"
                "def release(db=None, number_id=None, org_id=None):\n"
                "    db.delete('phone_numbers', {'id': number_id, 'clerk_org_id': org_id})\n")},
        ),
    )

    def check_project(self, project, emit) -> None:
        for facts in project.files:
            for site in facts.call_sites:
                for wrapper in project.resolve_call(facts, site):
                    if not _omits(site, wrapper):
                        continue
                    how = ("passes None for" if wrapper.index in site.none_positions
                           or wrapper.param in site.none_keywords else "omits")
                    emit(facts.path, RawFinding(
                        self.code, site.span,
                        f"call of `{wrapper.qualname}` {how} `{wrapper.param}`: it then "
                        f"reaches tenant table '{wrapper.table}' without \"{wrapper.tenant_key}\"; "
                        f"pass {wrapper.param}=<the caller's org id>",
                        symbol=site.symbol, table=wrapper.table, operation="call",
                        snippet=site.snippet, statement_line=site.statement_line))


def _helper_verified(project, facts, finding: RawFinding) -> Optional[str]:
    """A project function that raises unless its tenant-scoped lookup finds the
    row (a scoping helper) was handed the id before this call, on every path:
    the helper's name."""
    for use in facts.helper_uses:
        if use.line != finding.span.line or use.symbol != finding.symbol:
            continue
        helper = _confirmed(project, facts, use.site, use.callee, use.key, use.table,
                            use.tested)
        if helper is not None:
            return helper
    return None


def _confirmed(project, facts, site_index: int, callee: str, key: str, table: str,
               tested: bool) -> Optional[str]:
    """The scoping helper (its qualified name) that call site `site_index` of
    `facts` (or the route dependency `Depends(callee)`) reaches, verifying
    argument `key` for `table`; None when it does not."""
    if site_index >= 0:
        site = facts.call_sites[site_index]
        for h in project.resolve_call(facts, site, project.helpers):
            if h.table == table and key in (h.param, str(h.index)) \
                    and (tested or h.kind == "raises"):
                return h.qualname
        return None
    # `Depends(helper)`: the dependency by its name, as the module imports it
    target = project.resolver.resolve(facts, callee)
    for h in (project.helpers.get(target, []) if target else []):
        if h.table == table and h.param == key and h.kind == "raises":
            return h.qualname
    return None


def _argument(site, keyed) -> Optional[str]:
    if keyed.param in site.keywords:
        return keyed.param
    return str(keyed.index) if site.positional > keyed.index else None


def _verified(project, facts, site, keyed) -> bool:
    """The caller's argument for `keyed` is verified for its table: in the
    caller's own file (a lookup, a scoped row, a configured helper), by being
    the caller's own id (a principal key), or by a project scoping helper it
    was handed before the call."""
    key = _argument(site, keyed)
    if key is None:
        return False
    tables = site.verified.get(key, ())
    if keyed.table in tables or "*" in tables or (keyed.principal and "@caller" in tables):
        return True
    return any(_confirmed(project, facts, index, callee, argument, keyed.table, tested)
               for index, callee, argument, tested in site.helper_args.get(key, ()))


def _from_request(site, keyed) -> bool:
    key = _argument(site, keyed)
    tokens = site.provenance.get(key, "") if key is not None else ""
    return PARAM in tokens or FLASK_REQUEST in tokens


def _omits(site, wrapper) -> bool:
    if wrapper.index in site.none_positions or wrapper.param in site.none_keywords:
        return True
    if site.has_star or wrapper.param in site.keywords or site.positional > wrapper.index:
        return False
    return wrapper.has_default
