"""The Django + DRF fixture marks every expected finding inline; the tool's
findings must equal the marks exactly (as tests/test_sample_backend.py)."""
from pathlib import Path

from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, run
from orgscope_lint.testing import marks_in

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "django_backend"


def _run():
    config = load_config(None, FIXTURE)
    return run([FIXTURE], config, Options(jobs=1, use_cache=False))


def test_findings_equal_marks():
    result = _run()
    assert not result.internal_errors
    assert not result.errors
    sources = {p.relative_to(FIXTURE).as_posix(): p.read_text(encoding="utf-8")
               for p in sorted(FIXTURE.rglob("*.py"))}
    expected_active, expected_accepted = marks_in(sources)
    active = sorted((f.path, f.line, f.rule) for f in result.findings if not f.suppressed)
    accepted = sorted((f.path, f.line, f.rule) for f in result.findings if f.suppressed)
    assert active == sorted(expected_active)
    assert accepted == sorted(expected_accepted)


def test_builtin_actions_are_routes_with_method_and_full_path():
    result = _run()
    messages = {f.message for f in result.findings if f.rule in ("ORG102", "ORG105")}
    assert any(m.startswith("PUT /api/orgs/{slug}/labels/{pk}/, PATCH /api/orgs/{slug}/labels/"
                            "{pk}/, DELETE /api/orgs/{slug}/labels/{pk}/ (LabelViewSet.update/"
                            "partial_update/destroy, built-in on its queryset)") for m in messages)
    routes = {(tuple(r["methods"]), r["path"]): r for r in result.routes}
    assert (("GET",), "/api/orgs/{slug}/projects/{pk}/") in routes
    assert (("POST",), "/api/orgs/{slug}/projects/{pk}/archive/") in routes
    assert routes[(("GET",), "/api/plans/")]["auth"] == []
    assert routes[(("DELETE",), "/api/orgs/{slug}/projects/{pk}/")]["auth"] == [
        "IsAuthenticated", "IsOrganizationMember"]


def test_routes_of_the_documents_timesheets_and_integrations_apps():
    result = _run()
    routes = {(tuple(r["methods"]), r["path"]): r for r in result.routes}
    assert routes[(("PUT",), "/api/docs/orgs/{slug}/documents/{pk}/")]["auth"] == [
        "IsAuthenticated", "IsOrganizationMember"]
    assert (("GET",), "/api/integrations/orgs/{slug}/webhooks/{pk}/deliveries/") in routes
    assert routes[(("GET",), "/api/docs/shared/{token}/")]["auth"] == []
    assert routes[(("POST", "DELETE"), "/time/entries/{pk}/delete/")]["auth"] == [
        "login_required"]
    assert (("GET",), "/time/orgs/{slug}/periods/{pk}/approve/") in routes
    messages = {(f.path, f.line): f.message for f in result.findings}

    def at(path, text):
        lines = (FIXTURE / path).read_text().splitlines()
        return messages[(path, next(i for i, l in enumerate(lines, 1) if text in l))]

    # custom queryset methods and other modules' helpers, summarised
    assert "archive_all of tenant table 'Document'" in at(
        "app/documents/views.py", "Document.objects.stale().archive_all()")
    assert "(PublishedFeed.list, built-in on its queryset)" in at(
        "app/documents/views.py", "class PublishedFeed(")
    # raw SQL checked against the models' db tables
    assert "'integrations_delivery'" in at(
        "app/integrations/views.py", "FROM integrations_delivery GROUP BY event")


def test_model_catalog_follows_the_foreign_key_chain():
    from orgscope_lint.catalog import build_catalog
    config = load_config(None, FIXTURE)
    files = [(p.relative_to(FIXTURE).as_posix(), str(p), None) for p in FIXTURE.rglob("*.py")]
    catalog = build_catalog(config, None, files)
    assert catalog.tenant_key_for("Project") == "organization"  # inherited, abstract base
    assert catalog.tenant_key_for("Issue") == "project"  # parent key
    assert catalog.tenant_key_for("Comment") == "issue"  # two levels down
    assert catalog.is_tenant_table("ArchivedProject")  # proxy
    assert not catalog.is_tenant_table("Plan")
    assert not catalog.is_tenant_table("Organization")
    assert catalog.tenant_key_for("TimeEntry") == "task"  # three levels down
    # the tables raw SQL names: Meta.db_table or <app>_<model>, key columns with _id
    assert catalog.tenant_key_for("timesheet_entry") == "task_id"
    assert catalog.tenant_key_for("documents_tag") == "organization_id"
    assert "colour" in catalog.columns_of("projects_label")  # db_column
    notes = catalog.project_facts["django"]["models"]
    assert notes["Organization"]["related"]["memberships"] == ["Membership", "organization"]
    assert "active" in notes["Project"]["managers"]


def test_the_model_and_url_prepass_is_kept_between_runs(tmp_path, monkeypatch):
    import shutil

    from orgscope_lint.presets import django_project
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project)
    config = load_config(None, project)

    def findings():
        result = run([project], config, Options(jobs=1))
        return sorted((f.path, f.line, f.rule) for f in result.findings)

    first = findings()  # creates the cache directory
    assert findings() == first  # stores the pre-pass

    def fail(*args):
        raise AssertionError("the pre-pass ran again")

    real = django_project.build_facts
    monkeypatch.setattr(django_project, "build_facts", fail)
    assert findings() == first  # nothing changed: the stored pre-pass
    models = project / "app" / "projects" / "models.py"
    models.write_text(models.read_text().replace(
        "class Label(OrganizationOwned):", "class Label(models.Model):"))
    monkeypatch.setattr(django_project, "build_facts", real)
    changed = findings()  # a model changed: Label is no longer tenant-owned
    assert ("app/projects/views.py", 40, "ORG105") in first
    assert ("app/projects/views.py", 40, "ORG105") not in changed


def test_a_warm_run_on_a_django_project_does_not_load_the_parser(tmp_path):
    import os
    import shutil
    import subprocess
    import sys
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project)
    probe = ("import sys\n"
             "from orgscope_lint.cli import main\n"
             "try:\n"
             "    main(['check', sys.argv[1], '--format', 'json', '--exit-zero', '--jobs', '1'])\n"
             "except SystemExit:\n"
             "    pass\n"
             "sys.stderr.write('LIBCST=%s' % ('libcst' in sys.modules))\n")
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(repo), NO_COLOR="1")
    runs = [subprocess.run([sys.executable, "-c", probe, str(project)], capture_output=True,
                           text=True, env=env, timeout=180) for _ in range(3)]
    assert "LIBCST=True" in runs[0].stderr
    assert "LIBCST=False" in runs[1].stderr and "LIBCST=False" in runs[2].stderr
    assert runs[0].stdout == runs[1].stdout == runs[2].stdout


def test_pre_pass_trees_are_kept_only_to_share_them_between_presets(monkeypatch, tmp_path):
    """A lone Django pre-pass frees each tree once read (memory on big projects);
    with a second tree-reading preset (sqlalchemy) every file is parsed once."""
    import ast
    from collections import Counter

    from orgscope_lint.catalog import build_catalog
    from orgscope_lint.presets import base
    parsed = Counter()
    real = ast.parse

    def counting(source, *args, **kwargs):
        parsed[source] += 1
        return real(source, *args, **kwargs)

    import shutil
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project)
    models = project / "app" / "core" / "models.py"  # a file both presets read
    models.write_text(models.read_text() + "\n# Column(...) is SQLAlchemy's, not used here\n")
    monkeypatch.setattr(ast, "parse", counting)
    files = [(p.relative_to(project).as_posix(), str(p), None) for p in project.rglob("*.py")]
    config = load_config(None, project)
    kept = []
    real_trees = base.project_trees

    def watching(*args, **kwargs):
        for item in real_trees(*args, **kwargs):
            kept.append(len(base._TREES))
            yield item

    monkeypatch.setattr(base, "project_trees", watching)
    monkeypatch.setattr("orgscope_lint.presets.django.project_trees", watching)
    build_catalog(config, None, files)
    assert parsed and max(kept) == 0  # nothing held: django alone
    both = type(config).__new__(type(config))
    both.__dict__.update(config.__dict__)
    object.__setattr__(both, "presets", ("django", "sqlalchemy"))
    parsed.clear()
    build_catalog(both, None, files)
    assert models.read_bytes() in parsed  # read by both pre-passes ...
    assert max(parsed.values()) == 1  # ... and parsed once: shared
    assert base._TREES == {} and base._SHARE == [True]
