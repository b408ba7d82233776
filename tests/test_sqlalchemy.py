"""The sqlalchemy preset: the model pre-pass as the table catalog, every query
form scoped and unscoped, and the fixture backend whose marks are its findings."""
import textwrap
from pathlib import Path

import pytest

from orgscope_lint.catalog import ForeignKey, TableCatalog
from orgscope_lint.config import ConfigError, load_config
from orgscope_lint.engine import Options, run
from orgscope_lint.presets.sqlalchemy_models import model_facts
from orgscope_lint.testing import config_from, found, marks_in, run_sources

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sqlalchemy_backend"

# --- the fixture ------------------------------------------------------------------------


def _sources():
    return {p.relative_to(FIXTURE).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(FIXTURE.rglob("*.py"))}


def test_fixture_findings_equal_marks():
    config = load_config(None, FIXTURE)
    result = run([FIXTURE], config, Options(jobs=1, use_cache=False))
    assert not result.internal_errors and not result.errors
    expected_active, expected_accepted = marks_in(_sources())
    active, accepted = found(result)
    assert sorted(active) == sorted(expected_active)
    assert sorted(accepted) == sorted(expected_accepted)
    assert len(expected_active) >= 20
    presets = {c.preset for c in result.db_calls}
    assert presets == {"sqlalchemy"}


def test_fixture_raw_sql_is_an_unverified_call():
    config = load_config(None, FIXTURE)
    result = run([FIXTURE], config, Options(jobs=1, use_cache=False))
    raw = [c for c in result.db_calls if c.operation == "opaque"]
    assert [(c.path, c.method, c.outcome) for c in raw] == [
        ("app/api/projects.py", "execute", "unknown"),
        # the generic repository's runners are handed statements: unverified there,
        # checked at their callers
        ("app/repositories/base.py", "scalar", "unknown"),
        ("app/repositories/base.py", "scalars", "unknown"),
        # built by a helper the resolver cannot name (`self.repository.get_lead_statement()`)
        ("app/services/crm.py", "select", "unknown")]
    assert "raw SQL (text(...))" in raw[0].detail
    assert "cannot follow" in raw[1].detail
    generic = [c for c in result.db_calls if c.path == "app/repositories/base.py"
               and c.operation != "opaque"]
    assert [c.outcome for c in generic] == ["infrastructure", "infrastructure"]


# --- the model pre-pass -------------------------------------------------------------------

MODELS = {
    "app/base.py": """
        from sqlalchemy import Column, ForeignKey, Integer, Table
        from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

        class Base(DeclarativeBase):
            pass

        class OrgMixin:
            @declared_attr
            def org_id(cls):
                return Column(Integer, ForeignKey("orgs.id"))

        class Org(Base):
            __tablename__ = "orgs"
            id: Mapped[int] = mapped_column(primary_key=True)
            members: Mapped[list["Member"]] = relationship()

        class Owned(OrgMixin, Base):
            __abstract__ = True
            id: Mapped[int] = mapped_column(primary_key=True)

        class Agent(Owned):
            __tablename__ = "agents"
            name: Mapped[str]
            parent: Mapped["Org"] = relationship()

        class Robot(Agent):
            pass

        class Call(Base):
            __tablename__ = "calls"
            id = Column(Integer, primary_key=True)
            agent_id = Column(ForeignKey(Agent.id))

        tags = Table("agent_tags", Base.metadata, Column("agent_id", ForeignKey("agents.id")),
                     Column("org_id", Integer))
    """,
    "app/legacy.py": """
        from flask_sqlalchemy import SQLAlchemy
        from sqlmodel import Field, SQLModel
        db = SQLAlchemy()

        class AuditEntry(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            org_id = db.Column(db.Integer)

        class Hero(SQLModel, table=True):
            id: int = Field(primary_key=True)
            team_id: int = Field(foreign_key="teams.id")

        class HeroRead(SQLModel):
            name: str

        class Plain:
            __tablename__ = "not_a_model"
    """,
    "app/custom_base.py": """
        from sqlalchemy import Column, Integer
        from sqlalchemy.orm import declarative_base, declared_attr

        class CustomBase:
            @declared_attr
            def __tablename__(cls):
                return cls.__name__.lower()

        Base = declarative_base(cls=CustomBase)

        class IncidentType(Base):
            id = Column(Integer, primary_key=True)
    """,
}


def _facts():
    items = [(path, None, textwrap.dedent(code).encode()) for path, code in MODELS.items()]
    return {f.model: f for f in model_facts(items)}


def test_models_become_table_facts_with_inherited_columns():
    facts = _facts()
    agent = facts["Agent"]
    assert agent.name == "agents"
    assert set(agent.columns) == {"org_id", "id", "name"}  # mixin, abstract base, own
    assert agent.primary_key == ("id",)
    assert agent.foreign_keys == (ForeignKey("org_id", "orgs", "id"),)
    assert "members" not in facts["Org"].columns and "parent" not in agent.columns
    assert facts["Robot"].name == "agents"  # single-table inheritance
    assert facts["Call"].foreign_keys == (ForeignKey("agent_id", "agents", "id"),)  # Agent.id
    assert facts["tags"].name == "agent_tags" and facts["tags"].columns == ("agent_id", "org_id")
    assert facts["AuditEntry"].name == "audit_entry"  # Flask-SQLAlchemy's default
    assert facts["Hero"].name == "hero" and facts["Hero"].columns == ("id", "team_id")
    assert facts["Hero"].foreign_keys == (ForeignKey("team_id", "teams", "id"),)
    assert facts["IncidentType"].name == "incident_type"  # the custom base's declared_attr
    assert "HeroRead" not in facts and "Plain" not in facts and "Owned" not in facts
    assert "Base" not in facts and "OrgMixin" not in facts


def test_catalog_knows_every_model_of_a_shared_table():
    config = config_from({"tenant-key": "org_id"})
    catalog = TableCatalog(config, _facts().values())
    assert catalog.table_of_model("Agent") == catalog.table_of_model("Robot") == "agents"
    assert catalog.is_tenant_table("agents") and not catalog.is_tenant_table("orgs")


# --- query forms, scoped and unscoped ------------------------------------------------------

PRELUDE = """
from sqlalchemy import and_, delete, insert, not_, or_, select, text, update
from app.models import Agent, Call, Note, Org, tags
"""

MODEL_FILE = {"app/models.py": textwrap.dedent("""
    from sqlalchemy import Column, ForeignKey, Integer, String, Table
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    class Base(DeclarativeBase):
        pass

    class Org(Base):
        __tablename__ = "orgs"
        id: Mapped[int] = mapped_column(primary_key=True)

    class Agent(Base):
        __tablename__ = "agents"
        id: Mapped[int] = mapped_column(primary_key=True)
        org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
        name: Mapped[str] = mapped_column(String)

    class Call(Base):
        __tablename__ = "calls"
        id: Mapped[int] = mapped_column(primary_key=True)
        org_id: Mapped[int] = mapped_column(Integer)
        agent_id: Mapped[int] = mapped_column(ForeignKey(Agent.id))

    class Note(Base):
        __tablename__ = "notes"
        id: Mapped[int] = mapped_column(primary_key=True)
        agent_id: Mapped[int] = mapped_column(ForeignKey(Agent.id))

    tags = Table("agent_tags", Base.metadata, Column("agent_id", Integer),
                 Column("org_id", Integer))
""")}

CONFIG = {"tenant-key": "org_id", "db": {"presets": ["sqlalchemy"]}}

VALID = [
    "s.execute(select(Agent).where(Agent.org_id == org, Agent.id == x))",
    # a many-to-one relationship compares its foreign key (`Agent.org` -> org_id)
    "s.execute(select(Agent).where(Agent.org == org, Agent.id == x))",
    "s.execute(select(Agent).where(org == Agent.org_id))",
    "s.scalars(select(Agent.id, Agent.name).where(Agent.org_id == org))",
    "s.execute(select(Agent).where(Agent.id == x).where(Agent.org_id == org))",
    "s.execute(select(Agent).filter(Agent.org_id == org))",
    "s.execute(select(Agent).filter_by(id=x, org_id=org))",
    "s.execute(select(Agent).where(and_(Agent.org_id == org, Agent.id == x)))",
    "s.execute(select(Agent).where((Agent.org_id == org) & (Agent.id == x)))",
    "s.execute(select(Agent).where(or_(Agent.org_id == org, Agent.org_id == x)))",
    "s.execute(select(Agent).where(Agent.org_id.in_([org])))",
    "s.execute(select(Agent).where(Agent.org_id.is_(org)))",
    "s.scalar_one(select(Agent).where(Agent.org_id == org))",
    "s.stream(select(Agent).where(Agent.org_id == org))",
    "s.execute(update(Agent).where(Agent.org_id == org).values(name=x))",
    "s.execute(delete(Agent).where(Agent.org_id == org, Agent.id == x))",
    "s.execute(insert(Agent).values(name=x, org_id=org))",
    "s.execute(insert(Agent).values([{'name': x, 'org_id': org}]))",
    "s.execute(insert(Agent), [{'name': x, 'org_id': org}])",
    "s.query(Agent).filter(Agent.id == x).filter_by(org_id=org).first()",
    "s.query(Agent).filter_by(org_id=org).all()",
    "s.query(Agent).filter_by(org_id=org).one_or_none()",
    "s.query(Agent).filter_by(org_id=org).count()",
    "s.query(Agent).filter_by(org_id=org).update({'name': x})",
    "s.query(Agent).filter_by(org_id=org).delete()",
    "Agent.query.filter_by(org_id=org).first_or_404()",
    "s.add(Agent(name=x, org_id=org))",
    "s.merge(Agent(name=x, org_id=org))",
    "s.add_all([Agent(name=x, org_id=org), Agent(name=y, org_id=org)])",
    "s.execute(select(Call).join(Agent).where(Agent.org_id == org, Call.id == x))",
    "s.execute(select(Call).join(Agent, Call.agent_id == Agent.id).where(Agent.org_id == org))",
    "s.execute(select(Note).where(Note.id == x))",  # notes has no tenant column
    "s.execute(tags.select().where(tags.c.org_id == org))",
    "s.execute(select(tags).where(tags.c.org_id == org))",
    "s.get(Org, x)",  # orgs is the tenant table itself, with no tenant column
]

INVALID = [
    ("s.execute(select(Agent).where(Agent.id == x))", "ORG101"),
    # the relationship to the agent pins agent_id, not the tenant
    ("s.execute(select(Call).where(Call.agent == x))", "ORG101"),
    ("s.scalars(select(Agent.id, Agent.name).where(Agent.name == x))", "ORG101"),
    ("s.execute(select(Agent))", "ORG105"),
    ("s.execute(select(Agent).where(or_(Agent.org_id == org, Agent.id == x)))", "ORG104"),
    ("s.execute(select(Agent).where(Agent.org_id != org))", "ORG101"),
    ("s.execute(select(Agent).where(or_(Agent.id == x, Agent.name == y)))", "ORG101"),
    ("s.execute(select(Agent).where(Agent.org_id < org))", "ORG101"),
    ("s.execute(select(Agent).where(Agent.org_id.like(org)))", "ORG101"),
    ("s.execute(select(Agent).where(not_(Agent.org_id == org)))", "ORG101"),
    ("s.execute(select(Agent).where(~(Agent.org_id == org)))", "ORG101"),
    ("s.scalar_one(select(Agent).filter_by(id=x))", "ORG101"),
    ("s.execute(update(Agent).where(Agent.id == x).values(name=x))", "ORG102"),
    ("s.execute(delete(Agent).where(Agent.id == x))", "ORG102"),
    ("s.execute(delete(Agent))", "ORG105"),
    ("s.execute(insert(Agent).values(name=x))", "ORG103"),
    ("s.execute(insert(Agent), [{'name': x}])", "ORG103"),
    ("s.query(Agent).filter(Agent.id == x).first()", "ORG101"),
    ("s.query(Agent).all()", "ORG105"),
    ("s.query(Agent).filter_by(id=x).update({'name': x})", "ORG102"),
    ("s.query(Agent).filter_by(id=x).delete()", "ORG102"),
    ("s.get(Agent, x)", "ORG101"),
    ("s.get_one(Agent, x)", "ORG101"),
    ("db.get_or_404(Agent, x)", "ORG101"),
    ("Agent.query.get(x)", "ORG101"),
    ("Agent.query.get_or_404(x)", "ORG101"),
    ("Agent.query.filter_by(id=x).first_or_404()", "ORG101"),
    ("s.add(Agent(name=x))", "ORG103"),
    ("s.merge(Agent(name=x))", "ORG103"),
    ("s.add_all([Agent(name=x, org_id=org), Agent(name=y)])", "ORG103"),
    ("s.execute(select(Call).join(Agent).where(Call.id == x))", "ORG101"),
    ("s.execute(select(Call).join(Agent, Call.id == Agent.id).where(Agent.org_id == org))",
     "ORG101"),
    ("s.execute(tags.select().where(tags.c.agent_id == x))", "ORG101"),
    ("s.execute(tags.insert().values(agent_id=x))", "ORG103"),
]


def _run(body, extra=""):
    code = PRELUDE + extra + "\n\ndef handler(s, db, org, x, y):\n    " + body + "\n"
    sources = dict(MODEL_FILE, **{"app/handler.py": code})
    result = run_sources(sources, config_from(CONFIG))
    assert not result.internal_errors, result.internal_errors
    return result


@pytest.mark.parametrize("body", VALID)
def test_scoped_forms(body):
    result = _run(body)
    assert found(result)[0] == []
    assert [c.preset for c in result.db_calls] == ["sqlalchemy"]


@pytest.mark.parametrize("body,code", INVALID)
def test_unscoped_forms(body, code):
    result = _run(body)
    assert found(result)[0] == [("app/handler.py", 7, code)]


STATEMENTS = [
    # refined under `if`: scoped on one path only
    ("""
def handler(s, org, x, admin):
    stmt = select(Agent).where(Agent.id == x)
    if admin:
        stmt = stmt.where(Agent.org_id == org)
    return s.execute(stmt)  # expect: ORG104
""", 1),
    ("""
def handler(s, org, x):
    stmt = select(Agent)
    stmt = stmt.where(Agent.id == x)
    stmt = stmt.where(Agent.org_id == org)
    return s.execute(stmt)
""", 0),
    ("""
def handler(s, org, words):
    stmt = select(Agent).where(Agent.org_id == org)
    for word in words:
        stmt = stmt.where(Agent.name == word)
    return s.execute(stmt)
""", 0),
    ("""
async def handler(engine, org, x):
    async with AsyncSession(engine) as session:
        await session.execute(select(Agent).where(Agent.id == x))  # expect: ORG101
        result = await session.scalars(select(Agent).where(Agent.org_id == org))
    return result
""", 1),
    ("""
def handler(s, org, x):
    query = s.query(Agent).filter(Agent.id == x)
    if org:
        query = query.filter_by(org_id=org)
    query.update({"name": "x"})  # expect: ORG104
""", 1),
    ("""
def handler(s, org, x):
    agent = Agent(name=x)
    agent.org_id = org
    s.add(agent)
""", 0),
    ("""
def handler(s, org, x, flag):
    agent = Agent(name=x)
    if flag:
        agent.org_id = org
    s.add(agent)  # expect: ORG104
""", 1),
    ("""
def handler(s, x):
    agent = s.get(Agent, x)  # expect: ORG101
    agent.name = "renamed"
    s.add(agent)
""", 1),
    ("""
def handler(s, x):
    s.execute(text("DELETE FROM agents WHERE id = :x"), {"x": x})
    s.execute("SELECT 1")
""", 0),
]


@pytest.mark.parametrize("code,count", STATEMENTS)
def test_statements_kept_in_variables(code, count):
    source = PRELUDE + "from sqlalchemy.ext.asyncio import AsyncSession\n" + code
    sources = dict(MODEL_FILE, **{"app/handler.py": source})
    result = run_sources(sources, config_from(CONFIG))
    assert not result.internal_errors
    expected, _ = marks_in(sources)
    assert sorted(found(result)[0]) == sorted(expected)
    assert len(expected) == count


def test_starred_conditions_are_unverified_not_an_empty_filter():
    result = _run("s.execute(select(Agent).where(*y))")
    assert found(result)[0] == []
    assert [c.outcome for c in result.db_calls] == ["unknown"]


def test_paths_filtering_by_different_columns_are_not_an_empty_filter():
    code = PRELUDE + textwrap.dedent("""
        def handler(s, x, kind):
            stmt = select(Agent)
            if kind == "a":
                stmt = stmt.where(Agent.id == x)
            else:
                stmt = stmt.where(Agent.name == x)
            return s.execute(stmt)
    """)
    result = run_sources(dict(MODEL_FILE, **{"app/handler.py": code}), config_from(CONFIG))
    [finding] = result.findings
    assert finding.rule == "ORG101"
    assert "filters by (id | name) only" in finding.message


def test_or_of_other_columns_is_named_in_the_message():
    result = _run("s.execute(select(Agent).where(or_(Agent.id == x, Agent.name == y)))")
    [finding] = result.findings
    assert "filters by (id | name) only" in finding.message


def test_raw_sql_is_opaque_and_never_flagged():
    result = _run('s.execute(text("DELETE FROM agents"))')
    [call] = result.db_calls
    assert (call.operation, call.outcome) == ("opaque", "unknown")
    assert found(result)[0] == []


def test_generic_repository_statement_is_infrastructure():
    result = _run("return None", extra=textwrap.dedent("""
        class Repo:
            def by_id(self, s, x):
                return s.execute(select(self.model).where(self.model.id == x))
    """))
    [call] = result.db_calls
    assert call.outcome == "infrastructure"


def test_explicit_config_names_a_model_class():
    config = dict(CONFIG, **{"global-tables": ["Agent"]})
    sources = dict(MODEL_FILE, **{"app/handler.py": PRELUDE + (
        "\ndef handler(s, x):\n    return s.get(Agent, x)\n")})
    result = run_sources(sources, config_from(config))
    assert found(result)[0] == []
    assert [c.outcome for c in result.db_calls] == ["global"]


def test_without_the_preset_nothing_is_seen():
    sources = dict(MODEL_FILE, **{"app/handler.py": PRELUDE + (
        "\ndef handler(s, x):\n    return s.get(Agent, x)\n")})
    assert run_sources(sources, config_from({"tenant-key": "org_id"})).db_calls == []


def test_sessions_setting_is_validated():
    assert config_from({"db": {"presets": ["sqlalchemy"], "sessions": ["uow.session"]}})
    with pytest.raises(ConfigError, match="did you mean `sessions`"):
        config_from({"db": {"presets": ["sqlalchemy"], "session": ["s"]}})
    with pytest.raises(ConfigError, match="must be a list of strings"):
        config_from({"db": {"presets": ["sqlalchemy"], "sessions": "s"}})


# --- init ------------------------------------------------------------------------------------


def test_init_proposes_the_preset_the_tenant_column_and_the_tenant_owned_models():
    from orgscope_lint.init import inspect_project, render_config
    text = render_config(inspect_project(FIXTURE), "")
    assert any(line.startswith('presets = ["sqlalchemy"]') for line in text.splitlines())
    assert any(line.startswith('tenant-key = "tenant_id"') for line in text.splitlines())
    [models] = [line for line in text.splitlines() if "tenant-owned models" in line]
    owned = models.split(": ", 1)[1].split(", ")
    assert owned == ["AdminUser", "ApiToken", "Attachment", "AuditEvent", "Contact", "Customer",
                     "Deal", "ImageAttachment", "Invoice", "InvoiceLine", "Membership",
                     "Payment", "Project", "Report", "ReportShare", "Subscription", "Task",
                     "TimeEntry", "WeekApproval", "project_watchers"]
    assert "Plan" not in owned and "Comment" not in owned and "User" not in owned
    assert "Tag" not in owned and "deal_tags" not in owned and "Announcement" not in owned


def test_init_dry_run_on_the_fixture_without_its_config(tmp_path):
    """`orgscope-lint init --dry-run` on a copy of the fixture whose pyproject has no
    [tool.orgscope-lint] table: the preset, the tenant column and the tenant-owned
    models come from the code alone."""
    import re
    import shutil

    from click.testing import CliRunner

    from orgscope_lint.cli import main
    copy = tmp_path / "taskhub"
    shutil.copytree(FIXTURE, copy)
    pyproject = (copy / "pyproject.toml").read_text()
    (copy / "pyproject.toml").write_text(pyproject.split("[tool.orgscope-lint]")[0])
    assert "orgscope" not in (copy / "pyproject.toml").read_text()
    result = CliRunner().invoke(main, ["init", "--dry-run", str(copy)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert re.search(r'^presets = \["sqlalchemy"\]', text, re.M)
    assert re.search(r'^tenant-key = "tenant_id"', text, re.M)
    [models] = [line for line in text.splitlines() if "tenant-owned models" in line]
    owned = models.split(": ", 1)[1].split(", ")
    assert {"Customer", "Deal", "Invoice", "Project", "Task", "TimeEntry"} <= set(owned)
    assert not {"Plan", "Tag", "User", "Comment"} & set(owned)
    assert not (copy / ".orgscope-lint.toml").exists()  # a dry run writes nothing


# --- fixes -------------------------------------------------------------------------------------

FIX_HANDLER = (PRELUDE + '''
from fastapi import Depends

from app.auth import get_current_user


async def handler(s, x, user: dict = Depends(get_current_user)):
    org = user["org_id"]
    await s.execute(select(Agent).where(Agent.id == x))
    await s.execute(delete(Agent).where(Agent.id == x,
                                        Agent.name == "old"))
    s.query(Agent).filter_by(id=x).update({"name": "y"})
    s.add(Agent(name="new"))
    await s.execute(insert(Agent).values(name="other"))
    await s.scalar(select(func.count()).select_from(Agent).where(Agent.name == x))
    s.get(Agent, x)
    await s.execute(select(tags.c.agent_id).where(tags.c.agent_id == x))
''').replace("from sqlalchemy import", "from sqlalchemy import func,")


def test_fixes_add_the_tenant_key_to_filters_and_rows(tmp_path):
    from orgscope_lint.fix import plan_fixes, write_fixes
    from orgscope_lint.engine import active_rules
    (tmp_path / "pyproject.toml").write_text(
        '[tool.orgscope-lint]\ntenant-key = "org_id"\n[tool.orgscope-lint.db]\n'
        'presets = ["sqlalchemy"]\n')
    for path, text in {**MODEL_FILE, "app/auth.py": "def get_current_user():\n    return {}\n",
                       "app/handler.py": FIX_HANDLER}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    config = load_config(None, tmp_path)
    result = run([tmp_path], config, Options(jobs=1, use_cache=False))
    assert len(found(result)[0]) == 8, found(result)[0]
    plan = plan_fixes(result, config, active_rules(config))
    assert write_fixes(plan) == []
    text = (tmp_path / "app/handler.py").read_text()
    assert "select(Agent).where(Agent.id == x, Agent.org_id == org)" in text
    pad = "\n" + " " * 40  # one argument per line stays so
    assert f'delete(Agent).where(Agent.id == x,{pad}Agent.name == "old",{pad}Agent.org_id == org))' \
        in text
    assert "filter_by(id=x, org_id=org).update" in text
    assert 's.add(Agent(name="new", org_id=org))' in text
    assert 'insert(Agent).values(name="other", org_id=org)' in text
    assert "select_from(Agent).where(Agent.name == x, Agent.org_id == org)" in text
    assert "where(tags.c.agent_id == x, tags.c.org_id == org)" in text  # a Table object
    assert [(f.rule, reason) for f, reason in plan.unfixed] == [
        ("ORG101", "no safe fix: `get` loads by primary key: there is no filter to add the "
                   "tenant key to (select with a where instead)")]
    after = run([tmp_path], config, Options(jobs=1, use_cache=False))
    assert [rule for _, _, rule in found(after)[0]] == ["ORG101"]  # only the get() is left


# --- routes --------------------------------------------------------------------------------------


def _route_table():
    config = load_config(None, FIXTURE)
    result = run([FIXTURE], config, Options(jobs=1, use_cache=False))
    return {(tuple(r["methods"]), r["path"]): (r["handler"], tuple(r["auth"]))
            for r in result.routes}


def test_route_table_lists_every_resource_route_with_its_path_and_auth():
    table = _route_table()
    login = ("login_required",)
    assert {k: v for k, v in table.items() if k[1].startswith("/api/v1/")} == {
        (("GET",), "/api/v1/reports"): ("ReportList.get", login),  # per-method decorator
        (("POST",), "/api/v1/reports"): ("ReportList.post", ()),
        (("GET",), "/api/v1/reports/<int:report_id>"): ("ReportResource.get", login),
        (("DELETE",), "/api/v1/reports/<int:report_id>"): ("ReportResource.delete", login),
        # add_namespace(path=...) replaces the namespace's own path; two add_resource paths
        (("GET",), "/api/v1/shares/<int:report_id>"): ("ShareList.get", login),
        (("POST",), "/api/v1/shares/<int:report_id>"): ("ShareList.post", login),
        (("GET",), "/api/v1/shares/by-report/<int:report_id>"): ("ShareList.get", login),
        (("POST",), "/api/v1/shares/by-report/<int:report_id>"): ("ShareList.post", login),
    }


def test_route_table_lists_every_api_router_route_with_its_path_and_auth():
    table = _route_table()
    fastapi = {k: v for k, v in table.items() if not k[1].startswith(("/api/v1/", "/admin/"))}
    source = (FIXTURE / "app/api/projects.py").read_text()
    assert sum(1 for (methods, path) in fastapi if path.startswith("/api/projects")) == \
        source.count("@router.")
    assert all(auth == ("get_current_user",) for (_, path), (_, auth) in fastapi.items()
               if path.startswith("/api/projects"))
    # the project's APIRouter subclass, Annotated aliases from another module,
    # Depends(Authenticator(...)) instances and a local router factory
    assert fastapi[(("GET",), "/api/invoices/{number}")] == ("get_invoice", ("get_current_user",))
    assert fastapi[(("POST",), "/api/invoices/{invoice_id}/paid")] == (
        "mark_paid", ("Authenticator", "get_current_user"))
    assert fastapi[(("GET",), "/api/admin/members/{member_id}")] == (
        "get_member", ("Authenticator", "get_current_user"))
    # an instance made by an auth dependency class, and a dependency factory's closure
    assert fastapi[(("GET",), "/api/invoices/{invoice_id}/lines")] == (
        "invoice_lines", ("_billing_reader", "get_current_user"))
    assert fastapi[(("POST",), "/api/invoices")] == (
        "create_invoice", ("RoleGuard", "Authenticator", "get_current_user"))
    assert fastapi[(("GET",), "/health")] == ("health", ())
    assert len([k for k in table if k[1].startswith("/admin/")]) == 8  # the Flask blueprint


SOURCES_HANDLER = (PRELUDE + '''
from flask_login import current_user

from app.tenancy import get_current_tenant


def from_flask_login(s, x):
    org = current_user.org_id
    s.query(Agent).filter_by(id=x).delete()


def from_a_configured_function(s, x):
    org = get_current_tenant()
    s.query(Agent).filter_by(id=x).delete()


def from_a_configured_expression(s, x, g):
    org = g.tenant.org_id
    s.query(Agent).filter_by(id=x).delete()


def untrusted(s, x, request):
    org = request.args["org_id"]
    s.query(Agent).filter_by(id=x).delete()
''')


def test_tenant_sources_and_flask_login_current_user_are_trusted_values(tmp_path):
    from orgscope_lint.engine import active_rules
    from orgscope_lint.fix import plan_fixes, write_fixes
    (tmp_path / "pyproject.toml").write_text(
        '[tool.orgscope-lint]\ntenant-key = "org_id"\n'
        'tenant-sources = ["get_current_tenant", "g.tenant.org_id"]\n'
        '[tool.orgscope-lint.db]\npresets = ["sqlalchemy"]\n')
    for path, text in {**MODEL_FILE, "app/tenancy.py": "def get_current_tenant():\n    pass\n",
                       "app/handler.py": SOURCES_HANDLER}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    config = load_config(None, tmp_path)
    assert config.tenant_sources == ("get_current_tenant", "g.tenant.org_id")
    result = run([tmp_path], config, Options(jobs=1, use_cache=False))
    assert [rule for _, _, rule in found(result)[0]] == ["ORG102"] * 4
    plan = plan_fixes(result, config, active_rules(config))
    assert write_fixes(plan) == []
    text = (tmp_path / "app/handler.py").read_text()
    assert text.count("filter_by(id=x, org_id=org).delete()") == 3
    assert [reason for _, reason in plan.unfixed] == [
        "no safe fix: no trusted tenant value in scope (a local read from the auth context "
        "or the function's tenant parameter)"]


def test_tenant_sources_is_a_list_of_strings():
    with pytest.raises(ConfigError, match="tenant-sources"):
        config_from({"tenant-sources": "get_current_tenant"})


def test_an_instance_made_by_a_configured_auth_factory_authenticates():
    sources = {
        "app/auth.py": textwrap.dedent("""
            from typing import Annotated
            from fastapi import Depends

            def Authenticator(scopes):
                return object()  # a factory: the tool cannot see what it builds

            _read = Authenticator({"read"})
            Reader = Annotated[dict, Depends(_read)]
        """),
        "app/api.py": textwrap.dedent("""
            from fastapi import APIRouter
            from app import auth

            router = APIRouter(prefix="/things")

            @router.get("")
            async def things(user: auth.Reader):
                return []
        """),
    }
    result = run_sources(sources, config_from({"auth-dependencies": ["Authenticator"]}))
    [route] = result.routes
    assert route["auth"] == ["_read", "Authenticator"]
    assert found(result)[0] == []


LOADER_CRITERIA = {
    "app/models.py": textwrap.dedent("""
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class OrgScoped:
            org_id: Mapped[int] = mapped_column()

        class Agent(OrgScoped, Base):
            __tablename__ = "agents"
            id: Mapped[int] = mapped_column(primary_key=True)

        class Call(Base):
            __tablename__ = "calls"
            id: Mapped[int] = mapped_column(primary_key=True)
            org_id: Mapped[int] = mapped_column()
    """),
    "app/db.py": textwrap.dedent("""
        from sqlalchemy import event
        from sqlalchemy.orm import Session, with_loader_criteria
        from app.context import current_org
        from app.models import OrgScoped

        @event.listens_for(Session, "do_orm_execute")
        def _scope_to_tenant(state):
            if state.is_select:
                state.statement = state.statement.options(with_loader_criteria(
                    OrgScoped, lambda cls: cls.org_id == current_org.get(), include_aliases=True))
    """),
    "app/handler.py": textwrap.dedent("""
        from sqlalchemy import delete, select
        from app.models import Agent, Call

        def handler(s, x):
            s.get(Agent, x)
            s.execute(select(Agent).where(Agent.id == x))
            s.query(Agent).filter_by(id=x).first()
            s.execute(select(Call).where(Call.id == x))  # expect: ORG101
            s.execute(delete(Agent).where(Agent.id == x))  # expect: ORG102
    """),
}


def test_with_loader_criteria_scopes_every_orm_read_of_the_models_it_names():
    result = run_sources(LOADER_CRITERIA, config_from(CONFIG))
    expected, _ = marks_in(LOADER_CRITERIA)
    assert sorted(found(result)[0]) == sorted(expected)
    facts = {f.model: f for f in model_facts(
        [(p, None, t.encode()) for p, t in LOADER_CRITERIA.items()])}
    assert facts["Agent"].read_criteria == ("org_id",) and facts["Call"].read_criteria == ()


# --- statement helpers across modules ----------------------------------------------------------

HELPERS = {
    "app/models.py": textwrap.dedent("""
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class Agent(Base):
            __tablename__ = "agents"
            id: Mapped[int] = mapped_column(primary_key=True)
            org_id: Mapped[int] = mapped_column()
    """),
    "app/repositories.py": textwrap.dedent("""
        from sqlalchemy import select
        from app.models import Agent

        class AgentRepository:
            def get_readable_statement(self, user):
                return select(Agent).where(Agent.org_id == user.org_id)

            def get_all_statement(self):
                return select(Agent)  # expect: ORG105

        repository = AgentRepository()

        def visible_to(user):
            stmt = select(Agent)
            if user.archived:
                stmt = stmt.where(Agent.id > 0)
            stmt = stmt.where(Agent.org_id == user.org_id)
            return stmt
    """),
    "app/use.py": textwrap.dedent("""
        from app.repositories import repository, visible_to
        from app.models import Agent

        async def handler(session, user, x):
            await session.execute(repository.get_readable_statement(user).where(Agent.id == x))
            await session.scalars(visible_to(user))
            stmt = repository.get_all_statement().where(Agent.id == x)
            await session.execute(stmt)
            await session.execute(repository.get_all_statement().where(Agent.org_id == user.org_id))
            await session.execute(repository.get_all_statement())
    """),
}


def test_a_scoped_statement_helper_of_another_module_scopes_what_is_built_from_it():
    result = run_sources(HELPERS, config_from(CONFIG))
    assert not result.internal_errors
    calls = {c.line: c for c in result.db_calls if c.path == "app/use.py"}
    assert {line: str(c.outcome) for line, c in calls.items()} == {
        6: "scoped", 7: "scoped", 9: "unscoped", 10: "scoped", 11: "empty"}
    assert all(c.table == "agents" for c in calls.values())
    assert calls[6].evidence == ("the statement from `AgentRepository.get_readable_statement` "
                                 "(app/repositories.py:7) pins org_id")
    assert calls[10].evidence.startswith("the filter added to the statement from")
    assert calls[9].evidence.startswith("filters by id only (the statement from")


def test_an_unscoped_statement_helper_is_reported_once_at_its_definition():
    result = run_sources(HELPERS, config_from(CONFIG))
    expected, _ = marks_in(HELPERS)
    assert sorted(found(result)[0]) == sorted(expected)
    [finding] = result.findings
    assert "run without the tenant key at app/use.py:9 and 1 more" in finding.message


def test_a_helper_scoped_everywhere_it_is_used_gives_no_finding():
    sources = dict(HELPERS)
    sources["app/use.py"] = "\n".join(
        line for line in HELPERS["app/use.py"].splitlines()
        if "stmt" not in line and not line.endswith("get_all_statement())"))
    result = run_sources(sources, config_from(CONFIG))
    assert found(result)[0] == []


def test_with_loader_criteria_is_the_evidence_of_the_reads_it_scopes():
    result = run_sources(LOADER_CRITERIA, config_from(CONFIG))
    calls = {c.line: c for c in result.db_calls if c.path == "app/handler.py"}
    session_wide = ("scoped session-wide: a `do_orm_execute` listener applies "
                    "`with_loader_criteria` on org_id to every ORM read of this model")
    assert [(line, str(c.outcome), c.evidence) for line, c in sorted(calls.items())][:3] == [
        (line, "scoped", session_wide) for line in (6, 7, 8)]
    assert str(calls[9].outcome) == "unscoped" and str(calls[10].outcome) == "unscoped"
    # and the report carries it
    entry = [c.to_json() for c in result.db_calls if c.line == 6 and c.path == "app/handler.py"]
    assert entry[0]["evidence"] == session_wide
    from orgscope_lint.report.markdown import render
    text = render(result)
    assert "3 reads scoped session-wide (a `do_orm_execute` listener's " \
           "`with_loader_criteria`): `handler` line 6, `handler` line 7, `handler` line 8" in text


def test_a_repository_made_by_a_classmethod_constructor_resolves_its_helpers():
    sources = dict(HELPERS)
    sources["app/repositories.py"] = HELPERS["app/repositories.py"] + textwrap.dedent("""
        class ScopedRepository(AgentRepository):
            @classmethod
            def from_session(cls, session):
                return cls()
    """)
    sources["app/use.py"] = textwrap.dedent("""
        from app.repositories import ScopedRepository
        from app.models import Agent

        async def handler(session, user, x):
            repository = ScopedRepository.from_session(session)
            await session.execute(repository.get_readable_statement(user).where(Agent.id == x))
    """)
    result = run_sources(sources, config_from(CONFIG))
    [call] = [c for c in result.db_calls if c.path == "app/use.py"]
    assert str(call.outcome) == "scoped" and "AgentRepository.get_readable_statement" in \
        call.evidence


LOGIN = ("login_required",)
USER = ("get_current_user",)
ADMIN = ("Authenticator", "get_current_user")
NONE = ()
# the billing blueprint's before_request hook and the internal API's token hook
BILLING_HOOK = ("billing_bp.before_request(require_login)",
                "not current_user.is_authenticated: return login_manager.unauthorized()")
TOKEN_HOOK = ("internal_bp.before_request(require_api_token)", "raise Unauthorized")


def test_the_route_table_of_the_fixture_is_exactly_every_route_with_its_path_and_auth():
    """Every FastAPI route (project APIRouter subclass, Annotated aliases, callable
    dependency classes, factories), Flask view, Flask-RESTX Resource method, and
    the routes authenticated by a blueprint's before_request hook (plain views and
    Resources of an Api bound to the blueprint); `public_bp`'s hook only loads the
    visitor, so its route has no auth."""
    config = load_config(None, FIXTURE)
    result = run([FIXTURE], config, Options(jobs=1, use_cache=False))
    table = {(r["methods"][0], r["path"]): (r["handler"], tuple(r["auth"]))
             for r in result.routes}
    assert all(len(r["methods"]) == 1 and r["mounted"] for r in result.routes)
    assert table == {
        ('GET', '/admin/announcements'): ('announcements', LOGIN),
        ('GET', '/admin/reports'): ('list_reports', LOGIN),
        ('POST', '/admin/reports'): ('create_report', LOGIN),
        ('DELETE', '/admin/reports/<int:report_id>'): ('delete_report', LOGIN),
        ('GET', '/admin/reports/<int:report_id>'): ('show_report', LOGIN),
        ('POST', '/admin/reports/<int:report_id>/publish'): ('publish_report', LOGIN),
        ('GET', '/admin/reports/<int:report_id>/shares'): ('list_shares', LOGIN),
        ('GET', '/admin/reports/page'): ('page_of_reports', LOGIN),
        ('GET', '/api/admin/members'): ('list_members', ADMIN),
        ('GET', '/api/admin/members/{member_id}'): ('get_member', ADMIN),
        ('GET', '/api/customers'): ('list_customers', USER),
        ('POST', '/api/customers'): ('create_customer', USER),
        ('GET', '/api/customers/deals/closing'): ('deals_closing', USER),
        ('GET', '/api/customers/deals/pipeline'): ('pipeline', USER),
        ('GET', '/api/customers/deals/{deal_id}/export'): ('export_deal', NONE),
        ('POST', '/api/customers/import'): ('import_customers', ADMIN),
        ('GET', '/api/customers/search'): ('search_customers', USER),
        ('DELETE', '/api/customers/{customer_id}'): ('delete_customer', ADMIN),
        ('GET', '/api/customers/{customer_id}'): ('get_customer', USER),
        ('PATCH', '/api/customers/{customer_id}'): ('rename_customer', USER),
        ('GET', '/api/customers/{customer_id}/contacts'): ('customer_contacts', USER),
        ('POST', '/api/customers/{customer_id}/contacts'): ('add_contact', USER),
        ('GET', '/api/customers/{customer_id}/deals'): ('customer_deals', USER),
        ('POST', '/api/customers/{customer_id}/deals'): ('create_deal', USER),
        ('POST', '/api/invoices'):
            ('create_invoice', ('RoleGuard', 'Authenticator', 'get_current_user')),
        ('GET', '/api/invoices/{invoice_id}/lines'):
            ('invoice_lines', ('_billing_reader', 'get_current_user')),
        ('POST', '/api/invoices/{invoice_id}/paid'): ('mark_paid', ADMIN),
        ('GET', '/api/invoices/{number}'): ('get_invoice', USER),
        ('GET', '/api/projects'): ('list_projects', USER),
        ('POST', '/api/projects'): ('create_project', USER),
        ('GET', '/api/projects/all'): ('list_every_project', USER),
        ('POST', '/api/projects/draft'): ('create_draft_project', USER),
        ('GET', '/api/projects/plans/public'): ('public_plans', USER),
        ('GET', '/api/projects/stats/raw'): ('raw_stats', USER),
        ('DELETE', '/api/projects/{project_id}'): ('delete_project', USER),
        ('GET', '/api/projects/{project_id}'): ('get_project', USER),
        ('PATCH', '/api/projects/{project_id}'): ('rename_project', USER),
        ('GET', '/api/projects/{project_id}/attachments'): ('list_attachments', USER),
        ('GET', '/api/projects/{project_id}/comments'): ('list_comments', USER),
        ('GET', '/api/projects/{project_id}/raw'): ('get_project_by_id_only', USER),
        ('GET', '/api/projects/{project_id}/summary'): ('project_summary', USER),
        ('GET', '/api/projects/{project_id}/tasks'): ('list_tasks', USER),
        ('POST', '/api/projects/{project_id}/tasks'): ('create_task', USER),
        ('POST', '/api/projects/{project_id}/tasks/bulk'): ('create_tasks', USER),
        ('GET', '/api/projects/{project_id}/tasks/by-tenant'): ('tasks_by_ampersand', USER),
        ('DELETE', '/api/projects/{project_id}/tasks/closed'): ('purge_closed_tasks', USER),
        ('GET', '/api/projects/{project_id}/tasks/others'): ('tasks_of_other_tenants', USER),
        ('GET', '/api/projects/{project_id}/tasks/search'): ('search_tasks', USER),
        ('POST', '/api/projects/{project_id}/watch'): ('watch_project', USER),
        ('POST', '/api/timesheets'): ('log_time', USER),
        ('GET', '/api/timesheets/approvals/{approval_id}'): ('get_approval', USER),
        ('POST', '/api/timesheets/approve'): ('approve_week', ADMIN),
        ('POST', '/api/timesheets/bulk'): ('log_many', USER),
        ('POST', '/api/timesheets/copy-week'): ('copy_week', USER),
        ('GET', '/api/timesheets/hours'): ('hours_by_task', USER),
        ('GET', '/api/timesheets/hours/all'): ('every_tenants_hours', ADMIN),
        ('POST', '/api/timesheets/reopen'): ('reopen_week', ADMIN),
        ('GET', '/api/timesheets/week'): ('my_week', USER),
        ('GET', '/api/v1/reports'): ('ReportList.get', LOGIN),
        ('POST', '/api/v1/reports'): ('ReportList.post', NONE),
        ('DELETE', '/api/v1/reports/<int:report_id>'): ('ReportResource.delete', LOGIN),
        ('GET', '/api/v1/reports/<int:report_id>'): ('ReportResource.get', LOGIN),
        ('GET', '/api/v1/shares/<int:report_id>'): ('ShareList.get', LOGIN),
        ('POST', '/api/v1/shares/<int:report_id>'): ('ShareList.post', LOGIN),
        ('GET', '/api/v1/shares/by-report/<int:report_id>'): ('ShareList.get', LOGIN),
        ('POST', '/api/v1/shares/by-report/<int:report_id>'): ('ShareList.post', LOGIN),
        ('GET', '/billing/payments'): ('payments', BILLING_HOOK),
        ('POST', '/billing/payments'): ('record_payment', BILLING_HOOK),
        ('DELETE', '/billing/payments/<int:payment_id>'): ('delete_payment', BILLING_HOOK),
        ('GET', '/billing/payments/<ref>'): ('payment_by_ref', BILLING_HOOK),
        ('GET', '/billing/payments/count'): ('payment_count', BILLING_HOOK),
        ('GET', '/billing/payments/pending'): ('pending', BILLING_HOOK),
        ('GET', '/billing/renewals'): ('renewals', BILLING_HOOK),
        ('GET', '/billing/subscriptions'): ('subscriptions', BILLING_HOOK),
        ('GET', '/billing/subscriptions/<int:subscription_id>'): ('subscription', BILLING_HOOK),
        ('POST', '/billing/subscriptions/<int:subscription_id>/cancel'): ('cancel', BILLING_HOOK),
        ('POST', '/billing/subscriptions/<int:subscription_id>/seats'):
            ('change_seats', BILLING_HOOK),
        ('GET', '/health'): ('health', NONE),
        ('GET', '/internal/v2/feeds/reports'): ('ReportFeed.get', TOKEN_HOOK),
        ('GET', '/internal/v2/feeds/reports/published'): ('PublishedFeed.get', TOKEN_HOOK),
        ('GET', '/internal/v2/feeds/reports/published/all'):
            ('PublishedEverywhere.get', TOKEN_HOOK),
        ('GET', '/internal/v2/feeds/subscriptions/<int:subscription_id>'):
            ('SubscriptionFeed.get', TOKEN_HOOK),
        ('PUT', '/internal/v2/feeds/subscriptions/<int:subscription_id>'):
            ('SubscriptionFeed.put', TOKEN_HOOK),
        ('GET', '/p/plans/<int:subscription_id>'): ('public_plan', NONE),
    }


def test_a_generic_helper_on_self_model_is_judged_at_each_use_with_the_model_of_its_class():
    sources = {
        "app/models.py": HELPERS["app/models.py"],
        "app/kit.py": textwrap.dedent("""
            from typing import Generic, TypeVar
            from sqlalchemy import select

            M = TypeVar("M")

            class RepositoryBase(Generic[M]):
                model: type

                def get_base_statement(self):
                    return select(self.model)

                def get_owned_statement(self, org_id):
                    return select(self.model).where(self.model.org_id == org_id)
        """),
        "app/agents.py": textwrap.dedent("""
            from sqlalchemy import select
            from app.kit import RepositoryBase
            from app.models import Agent

            class AgentRepository(RepositoryBase[Agent]):
                model = Agent

                async def first_of(self, session, org_id):
                    return await session.scalar(select(Agent).where(Agent.org_id == org_id))

                @classmethod
                def from_session(cls, session):
                    return cls()
        """),
        "app/use.py": textwrap.dedent("""
            from app.agents import AgentRepository
            from app.models import Agent

            async def handler(session, org_id, x):
                repository = AgentRepository.from_session(session)
                await session.execute(repository.get_owned_statement(org_id).where(Agent.id == x))
                await session.execute(repository.get_base_statement().where(Agent.org_id == org_id))
                await session.execute(repository.get_base_statement().where(Agent.id == x))  # expect: ORG101
                await session.execute(repository.get_base_statement().where(or_(*conditions)))
        """).replace("from app.models import Agent", "from sqlalchemy import or_\nfrom app.models import Agent")
            .replace("org_id, x):", "org_id, x, conditions):"),
    }
    result = run_sources(sources, config_from(CONFIG))
    expected, _ = marks_in(sources)
    assert sorted(found(result)[0]) == sorted(expected)
    calls = {c.line: c for c in result.db_calls if c.path == "app/use.py"}
    # conditions the tool cannot see: unverified, not unscoped
    assert str(calls[11].outcome) == "unknown" and "cannot see" in calls[11].evidence
    assert [str(calls[line].outcome) for line in (8, 9, 10)] == ["scoped", "scoped", "unscoped"]
    assert all(calls[line].table == "agents" for line in (8, 9, 10))
    [finding] = result.findings
    assert "filters by id only (the statement from `RepositoryBase.get_base_statement`" in \
        finding.message and "on `AgentRepository`, model Agent" in finding.message


def test_a_mixin_refining_super_s_statement_is_a_generic_helper_too():
    sources = {
        "app/models.py": HELPERS["app/models.py"],
        "app/kit.py": textwrap.dedent("""
            from sqlalchemy import select

            class RepositoryBase:
                def get_base_statement(self):
                    return select(self.model)

            class SoftDeletionMixin:
                def get_base_statement(self, include_deleted=False):
                    statement = super().get_base_statement()
                    if not include_deleted:
                        statement = statement.where(self.model.deleted_at.is_(None))
                    return statement
        """),
        "app/agents.py": textwrap.dedent("""
            from sqlalchemy import select
            from app.kit import RepositoryBase, SoftDeletionMixin
            from app.models import Agent

            class AgentRepository(SoftDeletionMixin, RepositoryBase):
                model = Agent

                def mine(self, org_id):
                    return select(Agent).where(Agent.org_id == org_id)
        """),
        "app/use.py": textwrap.dedent("""
            from app.agents import AgentRepository
            from app.models import Agent

            async def handler(session, org_id, x):
                repository = AgentRepository()
                await session.execute(repository.get_base_statement().where(Agent.org_id == org_id))
                await session.execute(repository.get_base_statement().where(Agent.id == x))  # expect: ORG101
        """),
    }
    result = run_sources(sources, config_from(CONFIG))
    expected, _ = marks_in(sources)
    assert sorted(found(result)[0]) == sorted(expected)
    assert "SoftDeletionMixin.get_base_statement" in result.findings[0].message


def test_a_helper_s_self_model_is_the_model_of_its_own_class():
    """Two repositories in one module: each helper's statement is on its own class's model."""
    sources = {
        "app/models.py": HELPERS["app/models.py"] + textwrap.dedent("""
            class Note(Base):
                __tablename__ = "notes"
                id: Mapped[int] = mapped_column(primary_key=True)
                org_id: Mapped[int] = mapped_column()
        """),
        "app/repositories.py": textwrap.dedent("""
            from sqlalchemy import select
            from app.models import Agent, Note

            class RepositoryBase:
                def get_base_statement(self):
                    return select(self.model)

            class AgentRepository(RepositoryBase):
                model = Agent

                def by_ids(self, ids):
                    return self.get_base_statement().where(Agent.id.in_(ids))  # expect: ORG101

            class NoteRepository(RepositoryBase):
                model = Note

                def first(self, session, org_id):
                    return session.scalar(select(Note).where(Note.org_id == org_id))
        """),
        "app/use.py": textwrap.dedent("""
            from app.repositories import AgentRepository

            async def handler(session, ids):
                repository = AgentRepository()
                await session.execute(repository.by_ids(ids))
        """),
    }
    result = run_sources(sources, config_from(CONFIG))
    expected, _ = marks_in(sources)
    assert sorted(found(result)[0]) == sorted(expected)
    assert "'agents' filters by id only" in result.findings[0].message
