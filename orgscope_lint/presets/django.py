"""The `django` preset: Django ORM querysets and Django REST Framework views.

    Project.objects.filter(organization=request.user.organization)      # scoped
    Issue.objects.filter(project__organization__slug=slug).update(...)  # scoped by the chain
    Project.objects.get(pk=pk)                                          # ORG101

Models come from the project pre-pass (`django_project.py`): a model is
tenant-owned when it has the `tenant-key` foreign key (to `db.tenant-model`),
directly or inherited, or a foreign key to a tenant-owned parent (its key is
then that parent key). Lookups are normalised to that key: `organization=`,
`organization_id=`, `organization__slug=`, `project__organization__id=` all
pin it; `pk=` / `name=` do not.

A queryset is a `QueryVal` (method "qs"): manager chains, querysets in
variables refined across statements and branches, `self.get_queryset()` and
same-module helpers returning one (their return values, joined), and code
elsewhere that the pre-pass summarised (`django_querysets.py`): custom
`QuerySet` / `Manager` methods (`Invoice.objects.for_org(org)` pins the
tenant, `Invoice.objects.unpaid()` does not), managers whose `get_queryset()`
filters, and other modules' functions returning a queryset, each applied with
the caller's arguments; a method without a summary is unverified. The DB is
touched (a sink) at an evaluating or writing method (`get`, `first`, `count`,
`exists`, `update`, `delete`, `create`, `bulk_create`, ...), where a queryset
is handed to other code (a serializer, a template context, `list()`), and at
`get_object_or_404`. Loaded instances (method "instance") carry their load
filter to `save()` / `delete()` and scope their related managers; a
constructed instance (method "new") carries its row to `save()`; a
`ModelSerializer` of a tenant model (method "serializer") inserts its
validated data at `save(**extra)`. `M.objects.raw(sql, params)` and
`cursor.execute(sql, params)` on a Django cursor run SQL text: the raw-SQL
analysis (`presets/sql.py`, pglast) judges it, with the models' db tables
(`Meta.db_table`, or `<app>_<model>`) and columns (`organization_id`) from the
catalog; text it cannot read is an unverified DB call.

Routed DRF views inherit built-in actions (`list`, `retrieve`, `create`,
`update`, `partial_update`, `destroy`) that query `get_queryset()` (or
`queryset`): each class gets a sink per kind of access (read, write by pk,
insert), named with its methods and full paths, at the class line.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from ..lazy import lazy
from ..model import Operation
from .base import Detection, ModulePart, Preset, project_trees, word_marker

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis.flow import Env, FlowAnalyzer

cst = lazy("libcst")
syntax = lazy("orgscope_lint.analysis.syntax")
dbcalls = lazy("orgscope_lint.analysis.dbcalls")
values = lazy("orgscope_lint.analysis.values")
flow = lazy("orgscope_lint.analysis.flow")

# files that can declare models, views, URLs, managers or queryset helpers (the
# pre-pass reads only those)
_PROJECT_MARKER = re.compile(rb"\bmodels\.Model\b|Model\)|Model,|Field\(|ForeignKey|urlpatterns|"
                             rb"\.objects\b|QuerySet|Manager\b|"
                             rb"\.register\(|View\b|ViewSet|APIView|api_view|Serializer|"
                             rb"REST_FRAMEWORK|_required|permission_classes")
READS = frozenset({"get", "first", "last", "count", "exists", "in_bulk", "iterator",
                   "aggregate", "earliest", "latest", "contains"})
WRITES = frozenset({"update", "delete"})
INSERTS = frozenset({"create", "get_or_create", "update_or_create", "bulk_create"})
CHAIN = frozenset({"filter", "exclude", "all", "values", "values_list", "annotate",
                   "select_related", "prefetch_related", "order_by", "distinct", "only",
                   "defer", "using", "select_for_update", "reverse", "none", "alias",
                   "union", "intersection", "difference", "dates", "datetimes", "extra"})
_NARROW = frozenset({"filter", "get", "exclude", "first", "last", "count", "exists",
                     "update", "delete", "get_or_create", "update_or_create"})
# calls that take a queryset as part of another query: its scope is the outer one's
_EMBEDDING = frozenset({"Subquery", "Exists", "Prefetch", "OuterRef", "Q"})
_OPERATORS = frozenset({"exact", "iexact", "in"})
_IDENTIFYING = frozenset({"id", "pk", "slug", "uuid"})
# what `ForeignKey(settings.AUTH_USER_MODEL)` / `ForeignKey(User)` point at
_USER_MODELS = frozenset({"AUTH_USER_MODEL", "User", "get_user_model"})
_SHORTCUTS = frozenset({"get_object_or_404", "get_list_or_404"})
_MANAGERS = frozenset({"objects", "_default_manager", "_base_manager", "all_objects"})
# methods of a queryset or manager that are not queries
_NOT_QUERIES = frozenset({"model", "query", "db", "as_manager", "contribute_to_class",
                          "get_queryset", "ordered", "explain", "__iter__", "__len__"})


class DjangoPreset(Preset):
    name = "django"
    # `scoping-helpers` (top level) also names the permission classes and decorators
    # that check the caller's membership of the organization in the URL
    settings = {"tenant-model": "a string"}
    marker = word_marker("objects", "get_object_or_404", "get_list_or_404", "save",
                         "get_queryset", "queryset", "delete", "bulk_create", "cursor",
                         "raw", "create", "filter", "get")
    # the files the pre-pass reads: those that can declare models, views or URLs
    project_marker = _PROJECT_MARKER

    def configure(self, config, db: Mapping[str, Any], where: str) -> None:
        config.tenant_model = db.get("tenant-model", "Organization")

    def project(self, config, files):
        """Models, views, serializers and the URL map (`django_project.py`)."""
        from .django_project import build_facts
        return build_facts(project_trees(files, self.project_marker),
                           getattr(config, "tenant_model", "Organization"), config.tenant_key,
                           config.global_tables, config.tenant_tables)

    def project_tables(self, config, facts):
        from .django_project import table_facts
        return table_facts(facts)

    def detect(self, tree, text: str) -> Detection:
        from .django_init import detect
        return detect(tree, text)


class DjangoModule(ModulePart):
    preset = "django"

    def __init__(self, info, config, catalog) -> None:
        super().__init__(info, config, catalog)
        notes = self.project or {}
        self.models: Dict[str, dict] = notes.get("models", {})
        self.serializers: Dict[str, str] = notes.get("serializers", {})
        self.views: Dict[str, dict] = notes.get("views", {}).get(info.name, {})
        self.routes: Dict[str, list] = notes.get("routes", {}).get(info.name, {})
        tenant = getattr(config, "tenant_model", "Organization")
        self.tenant_model = next((m for m in self.models if m.lower() == tenant.lower()), tenant)
        self.accessors: Dict[str, List[Tuple[str, str]]] = {}
        for model, data in self.models.items():
            for accessor, (child, field) in data.get("related", {}).items():
                self.accessors.setdefault(accessor, []).append((child, field))
        self.returns: Dict[str, Optional[values.Value]] = {}
        self.classes: Dict[str, cst.ClassDef] = {}
        self.functions: Dict[str, cst.FunctionDef] = {}
        for unit in info.units:
            if unit.node is not None:
                self.functions[unit.qualname] = unit.node
        self.builtins_done = False
        self.in_guarded = False
        self.functions_notes: Dict[str, dict] = notes.get("functions", {}).get(info.name, {})
        # summaries of custom manager / queryset methods and of other modules'
        # functions returning a queryset (django_querysets.py)
        querysets = notes.get("querysets", {})
        self.qs_methods: Dict[str, Dict[str, dict]] = querysets.get("methods", {})
        self.manager_filters: Dict[str, Dict[str, dict]] = querysets.get("managers", {})
        self.helpers: Dict[str, Dict[str, dict]] = querysets.get("functions", {})
        self.helper_aliases: Dict[str, list] = querysets.get("aliases", {}).get(info.name, {})
        self._loop_keys: Dict[cst.CSTNode, cst.Call] = {}
        self._sql = None  # the raw-SQL analysis, for raw() and cursor.execute()
        self._cursors: Optional[bool] = None

    # -- models ----------------------------------------------------------------------
    def model_named(self, node: cst.CSTNode, env) -> Optional[str]:
        name = syntax.dotted(node)
        if not name:
            return None
        last = name.rsplit(".", 1)[-1]
        if last not in self.models:
            origin = self.info.imports.get(name.split(".")[0])
            if origin is None or not origin[0].startswith("django.contrib") \
                    or not last[:1].isupper() or last.endswith(("Form", "View", "Admin")):
                return None  # only the project's models, and Django's own (User, Group)
        if isinstance(node, cst.Name) and node.value in env.defs:
            return None  # a local or parameter of that name
        return last

    def _is_manager(self, model: str, name: str) -> bool:
        known = self.models.get(model, {}).get("managers") or ("objects",)
        return name in known or name in _MANAGERS or name.endswith(("objects", "manager"))

    def key_of(self, model: str) -> Optional[str]:
        if model not in self.models:
            return None  # not a project model: `settings.AUTH_USER_MODEL`, Django's own
        if self.catalog is not None and self.catalog.is_tenant_table(model):
            return self.catalog.tenant_key_for(model)
        return self.models.get(model, {}).get("key")

    def pins(self, model: str, parts: List[str], depth: int = 0) -> bool:
        """Does the lookup path `parts` pin `model`'s tenant (directly or through parents)?"""
        while parts and parts[-1] in _OPERATORS:
            parts = parts[:-1]
        if not parts or depth > 8:
            return False
        fields = self.models.get(model, {}).get("fields", {})
        head = parts[0]
        if head not in fields and head.endswith("_id") and head[:-3] in fields:
            head = head[:-3]
            if len(parts) > 1:
                return False
        if head not in fields:
            return False
        kind, target = fields[head]
        if kind == "Field":
            return head == self.config.tenant_key and len(parts) == 1
        if kind == "ManyToManyField" or target is None:
            return False
        rest = parts[1:]
        if target == self.tenant_model:
            return not rest or (len(rest) == 1 and rest[0] in _IDENTIFYING) \
                or self._to_members(rest)
        if self.key_of(target) is None:
            return False
        if not rest or (len(rest) == 1 and rest[0] in ("id", "pk")):
            return True
        return self.pins(target, rest, depth + 1)

    def _to_members(self, rest: List[str]) -> bool:
        """`organization__members=user`, `organization__memberships__user=user`: the
        tenant rows whose members include the value (the caller, when it is the
        principal): a path from the tenant model through its relations to a user."""
        model, fields = self.tenant_model, None
        for position, part in enumerate(rest):
            data = self.models.get(model, {})
            fields = data.get("fields", {})
            if part in fields and fields[part][0] != "Field":
                target = fields[part][1]
            elif part in data.get("related", {}):
                target = data["related"][part][0]
            else:
                return False
            if target in _USER_MODELS or target not in self.models:
                return position == len(rest) - 1 and target in _USER_MODELS
            model = target
        return False

    def lookups(self, model: str, call: cst.Call, env, analyzer,
                skip: Tuple[str, ...] = (), base=None, row: bool = False) -> values.DictVal:
        """The filter of `.filter(...)`-style arguments, keys normalised to the model's
        key. A filter that also pins the caller (`member=request.user`) only picks
        among the caller's own rows: its tenant value is the principal's; so does
        a filter on the model's user foreign key (`user=request.user`: the
        caller's own rows). A row (`row`) is not scoped by its user: it needs its
        tenant."""
        result = self._lookups(model, call, env, analyzer, skip, base, row)
        key = self.key_of(model)
        if key is None:
            return result
        for arg in call.args:
            if arg.keyword is None or arg.keyword.value == key or not _is_principal(arg.value):
                continue
            if key in result.must:
                values_ = dict(result.values)
                values_[key] = analyzer.origins(arg.value, env)
                return values.DictVal(result.must, result.may, result.opaque, values_)
            if not row and self._user_field(model, arg.keyword.value):
                return result.with_key(key, analyzer.origins(arg.value, env))
        return result

    def _user_field(self, model: str, lookup: str) -> bool:
        """`user`, `user_id`, `author__id`: the model's foreign key to the user model."""
        steps = _steps(lookup)
        if len(steps) != 1:
            return False
        fields = self.models.get(model, {}).get("fields", {})
        name = steps[0]
        if name not in fields and name.endswith("_id"):
            name = name[:-3]
        return name in fields and fields[name][0] != "Field" and fields[name][1] in _USER_MODELS

    def _lookups(self, model: str, call: cst.Call, env, analyzer,
                 skip: Tuple[str, ...] = (), base=None, row: bool = False) -> values.DictVal:
        """`base`: the filters already applied (the lookups narrow them)."""
        result = base if base is not None else values.DictVal()
        for arg in call.args:
            if arg.keyword is not None:
                if arg.keyword.value in skip:
                    continue
                result = self._add(result, model, arg.keyword.value, arg.value, env, analyzer,
                                   row)
            elif arg.star == "**":
                inner = analyzer.value_of(arg.value, env)
                if isinstance(inner, values.DictVal):
                    result = self._merge(result, model, inner)
                else:
                    result = _opaque(result)
            elif not arg.star:
                inner = self.q_value(arg.value, env, analyzer)
                result = self._merge(result, model, inner) if inner is not None \
                    else _opaque(result)
            else:
                result = _opaque(result)
        return result

    def _add(self, result, model: str, lookup: str, value, env, analyzer, row: bool = False):
        if isinstance(value, cst.Call) and syntax.last_part(syntax.dotted(value.func) or "") == "F":
            return result.with_key(f"{lookup} (F)", frozenset())
        origins = analyzer.origins(value, env)
        key = self.key_of(model)
        if key is not None and (self.pins(model, lookup.split("__"))
                                or self._row_id(lookup, value, env)
                                or self._verified_kwarg(lookup, value, env)):
            if key in result.must and row:
                # a row's every parent key must be the tenant's (`project_id=board.project_id,
                # intake_id=<from the URL>` links the row to another tenant's intake)
                return result.with_key(key, result.values.get(key, frozenset()) | origins)
            if key in result.must and len(_steps(lookup)) <= 1:
                # `folder__organization=org, folder_id=x`: both conditions hold, so the
                # rows are the tenant's; the pin that reaches the tenant speaks for the key
                return result.with_key(lookup, origins)
            return result.with_key(key, origins)
        return result.with_key(lookup, origins)

    def _verified_kwarg(self, lookup: str, value, env) -> bool:
        """`pk=project_id` in a handler a `scoping-helpers` entry guards: the helper
        checked the caller's membership of the object the URL names."""
        if not self.in_guarded or lookup.split("__")[-1] not in ("pk", "id") and not \
                lookup.endswith("_id"):
            return False
        if isinstance(value, cst.Name):
            return any(o.kind == "param" for o in env.defs.get(value.value, ()))
        path = syntax.dotted(value.func.value) if isinstance(value, cst.Call) and isinstance(
            value.func, cst.Attribute) else syntax.dotted(value.value) if isinstance(
            value, cst.Subscript) else None
        return path in ("self.kwargs", "kwargs")

    def _row_id(self, lookup: str, value, env) -> bool:
        """`pk=x.id`, `id=x.channel_id`, `id=self.id` in a model method: an id read
        from a row the code already holds (its load is checked where it happened)."""
        parts = [p for p in lookup.split("__") if p not in _OPERATORS]
        if parts not in (["pk"], ["id"]):
            return False
        path = syntax.dotted(value)
        if not path or "." not in path:
            return False
        root, _, rest = path.partition(".")
        if not (rest in ("id", "pk") or rest.endswith("_id") or rest.endswith((".id", ".pk"))):
            return False
        if root == "self":
            return self.unit is not None and self.unit.cls in self.models
        held = env.vals.get(root)
        return isinstance(held, values.QueryVal) and held.method in ("instance", "new")

    def _merge(self, result, model: str, raw: values.DictVal) -> values.DictVal:
        """Raw lookup keys (a dict or `Q`) normalised for `model`."""
        key = self.key_of(model)
        must, may, found = set(), set(), {}
        for name in raw.may:
            target = key if key is not None and self.pins(model, name.split("__")) else name
            if name in raw.must:
                must.add(target)
            may.add(target)
            found[target] = found.get(target, frozenset()) | raw.values.get(name, frozenset())
        merged = values.DictVal(frozenset(must), frozenset(may), raw.opaque, found)
        return result.merged(merged)

    def q_value(self, node, env, analyzer) -> Optional[values.DictVal]:
        """`Q(a=1) & Q(b=2)` (both), `|` (only what both sides have), `~Q(...)` (nothing)."""
        if isinstance(node, cst.Call) and syntax.last_part(syntax.dotted(node.func) or "") == "Q":
            result = values.DictVal()
            for arg in node.args:
                if arg.keyword is not None:
                    result = result.with_key(arg.keyword.value, analyzer.origins(arg.value, env))
                elif arg.star == "**":
                    inner = analyzer.value_of(arg.value, env)
                    result = result.merged(inner) if isinstance(inner, values.DictVal) \
                        else _opaque(result)
                else:
                    inner = self.q_value(arg.value, env, analyzer)
                    result = result.merged(inner) if inner is not None else _opaque(result)
            return result
        if isinstance(node, cst.BinaryOperation):
            left = self.q_value(node.left, env, analyzer)
            right = self.q_value(node.right, env, analyzer)
            if left is None or right is None:
                return None
            if isinstance(node.operator, cst.BitAnd):
                return left.merged(right)
            if isinstance(node.operator, cst.BitOr):
                both = left.must & right.must
                return values.DictVal(both, both, left.opaque or right.opaque,
                                      {k: left.values.get(k, frozenset()) for k in both}
                                      ).with_key("Q(...) | Q(...)", frozenset())
            return None
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.BitInvert):
            inner = self.q_value(node.expression, env, analyzer)
            return None if inner is None else values.DictVal(opaque=inner.opaque).with_key(
                "~Q(...)", frozenset())
        if isinstance(node, cst.Name):
            inner = env.vals.get(node.value)
            if isinstance(inner, values.QueryVal) and inner.method == "q":
                return inner.filters
            return None
        if isinstance(node, cst.Call) and syntax.last_part(syntax.dotted(node.func) or "") in (
                "Exists", "OuterRef", "Subquery"):
            return values.DictVal()  # a correlated condition: the outer query's scope
        return None

    # -- the value model -------------------------------------------------------------
    def value_of(self, call, env, analyzer):
        return self.chain_value(call, env, analyzer)

    def stored(self, current, attribute: str, origins):
        """`obj.organization = org` / `obj.organization_id = x` on a row built with
        `M(...)` (not saved yet): the row `save()` inserts carries that key from
        then on (paths join: a store on one branch only is not on every path).
        A row loaded from the DB keeps its load filter: re-pointing someone
        else's row at your organization does not make its load scoped."""
        if not (isinstance(current, values.QueryVal) and current.method == "new"
                and current.table and isinstance(current.data, values.DictVal)):
            return None
        key = self.key_of(current.table)
        name = key if key is not None and self.pins(current.table, [attribute]) else attribute
        return current.replace(data=current.data.with_key(name, origins))

    def chain_value(self, node, env, analyzer, depth: int = 0) -> Optional[values.QueryVal]:
        links: List[cst.Call] = []
        current = node
        value: Optional[values.QueryVal] = None
        while True:
            if isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
                method = current.func.attr.value
                receiver = current.func.value
                if method in ("get_queryset", "get_object") and _is_self(receiver):
                    value = self._self_method(method, env, analyzer)
                    if value is None:
                        return None
                    break
                if method in CHAIN or method in READS or method in WRITES \
                        or method in INSERTS or method in ("save", "raw", "bulk_update"):
                    links.append(current)
                    current = receiver
                    continue
                if _is_self(receiver) and self.unit is not None and self.unit.cls:
                    value = self._returned(f"{self.unit.cls}.{method}", analyzer, depth)
                    if value is None:
                        return None
                    break
                if not method.startswith("_") and method not in _NOT_QUERIES:
                    helper = self._helper(current.func, env)
                    if helper is not None:  # `selectors.visible_projects(user)`
                        value = self._summarised(helper, None, current, env, analyzer)
                        if value is None:
                            return None
                        break
                    inner = self.chain_value(receiver, env, analyzer, depth)
                    if inner is not None and inner.method == "qs" and inner.table:
                        summary = self.qs_methods.get(inner.table, {}).get(method)
                        value = self._summarised(summary, inner, current, env, analyzer) \
                            if summary is not None else None
                        if value is None:
                            # a custom manager or queryset method: filters we cannot see
                            value = inner.replace(filters=_opaque(inner.filters))
                        break
                return None
            if isinstance(current, cst.Call):
                name = syntax.dotted(current.func)
                last = syntax.last_part(name) if name else ""
                if name in _SHORTCUTS or last in _SHORTCUTS:
                    value = self._shortcut(current, env, analyzer)
                    break
                if last == "Q" and not links:
                    return values.QueryVal(None, "unknown", "q",
                                           self.q_value(current, env, analyzer))
                model = self.model_named(current.func, env)
                if model is not None and not links:
                    row = self.lookups(model, current, env, analyzer, row=True)
                    return values.QueryVal(model, "literal", "new", data=row)
                if last in self.serializers and not links:
                    model, custom = self.serializers[last]
                    if custom:
                        return None  # its own create()/update() saves: checked there
                    return self._serializer(model, current, env, analyzer)
                if isinstance(current.func, cst.Name) and current.func.value in self.functions \
                        and depth < 2:
                    value = self._returned(current.func.value, analyzer, depth)
                    if value is None:
                        return None
                    break
                helper = self._helper(current.func, env)
                if helper is not None:  # another module's function returning a queryset
                    value = self._summarised(helper, None, current, env, analyzer)
                    if value is None:
                        return None
                    break
                return None
            if isinstance(current, cst.Subscript):  # `qs[:10]`: still the query
                value = self.chain_value(current.value, env, analyzer, depth)
                if value is None or value.method != "qs":
                    return None
                break
            if isinstance(current, cst.Attribute):
                manager = current.attr.value
                model = self.model_named(current.value, env)
                if model is not None:
                    if not self._is_manager(model, manager):
                        return None  # `Page.PUBLIC_ACCESS`, `Model.DoesNotExist`
                    value = values.QueryVal(model, "literal", "qs")
                    own = self.manager_filters.get(model, {}).get(manager)
                    if own is not None:  # a manager whose get_queryset() filters
                        value = self._summarised(own, value, current, env, analyzer) or value
                    break
                related = self._related(current, env, analyzer)
                if related is None:
                    return None
                value = related
                break
            if isinstance(current, cst.Name):
                held = env.vals.get(current.value)
                if not isinstance(held, values.QueryVal):
                    return None
                value = held
                break
            return None
        for link in reversed(links):
            value = self._apply(value, link, env, analyzer)
            if value is None:
                return None
        if links and value.method == "qs":
            last = links[0].func.attr.value
            if last in ("get", "first", "last", "earliest", "latest"):
                return self.guarded(node, value, analyzer).replace(method="instance")
            if last in READS or last in WRITES or last in INSERTS or last in (
                    "raw", "bulk_update"):
                return None  # a number, a row count, rows: not a queryset
        return value

    # -- summaries of code elsewhere (django_querysets.py) ---------------------------
    def _helper(self, func, env) -> Optional[dict]:
        """The summary of the other module's function `func` names (through this
        module's imports, as the pre-pass resolved them), or None."""
        if isinstance(func, cst.Name):
            if func.value in env.defs or func.value in self.functions:
                return None
            target = self.helper_aliases.get(func.value)
            if target is None:  # a module the pre-pass did not read: its imports as written
                origin = self.info.imports.get(func.value)
                target = origin if origin is not None and origin[1] is not None else None
            return self.helpers.get(target[0], {}).get(target[1]) if target else None
        if isinstance(func, cst.Attribute):
            head = syntax.dotted(func.value)
            if not head or head.split(".")[0] in env.defs:
                return None
            origin = self.info.imports.get(head.split(".")[0])
            if origin is None:
                return None
            module = origin[0] if origin[1] is None else f"{origin[0]}.{origin[1]}"
            rest = head.split(".")[1:]
            module = ".".join([module, *rest]) if rest else module
            return self.helpers.get(module, {}).get(func.attr.value)
        return None

    def _summarised(self, summary: dict, base: Optional[values.QueryVal], call, env,
                    analyzer) -> Optional[values.QueryVal]:
        """The query a summarised method or function returns at `call`: built on
        `base` (the queryset or manager it is called on) or on a fresh chain of
        its model, its lookups' values the caller's arguments."""
        if summary.get("base") == "model":
            model = summary.get("model")
            if not model:
                return None
            query = values.QueryVal(model, "literal", "qs")
        elif base is not None and base.table:
            query = base
        else:
            return None
        filters = query.filters
        params = summary.get("params", [])
        for lookup, source in summary.get("lookups", ()):
            node = self._argument_for(source, params, call)
            if node is None:
                filters = filters.merged(self._unknown_lookup(query.table, lookup))
            else:
                filters = self._add(filters, query.table, lookup, node, env, analyzer)
                key = self.key_of(query.table)
                if key is not None and key not in filters.must and _is_principal(node) \
                        and self._user_field(query.table, lookup):  # `of_user(request.user)`
                    filters = filters.with_key(key, analyzer.origins(node, env))
        if summary.get("opaque"):
            filters = _opaque(filters)
        query = query.replace(filters=filters)
        op = summary.get("op", "qs")
        if op == "instance":
            return query.replace(method="instance")
        return query.replace(method=f"summary-{op}") if op in ("read", "write") else query

    def _argument_for(self, source, params, call):
        """The caller's expression for a summary's lookup value: its argument for
        the parameter (an attribute of it), a constant, or None (unknown)."""
        if source[0] == "const":
            return cst.SimpleString('"constant"')
        if source[0] != "param" or not isinstance(call, cst.Call):
            return None
        index, path = source[1], source[2] if len(source) > 2 else ""
        name = params[index] if index < len(params) else None
        node = syntax.argument(call, index, name)
        if node is None:
            return None
        for part in path.split(".") if path else ():
            node = cst.Attribute(node, cst.Name(part))
        return node

    def _unknown_lookup(self, model: str, lookup: str) -> values.DictVal:
        key = self.key_of(model)
        name = key if key is not None and self.pins(model, lookup.split("__")) else lookup
        return values.DictVal().with_key(name, frozenset({values.UNKNOWN_ORIGIN}))

    def _related(self, node: cst.Attribute, env, analyzer) -> Optional[values.QueryVal]:
        """`organization.projects`, `project.issue_set`: the children of one parent."""
        accessor = node.attr.value
        choices = self.accessors.get(accessor)
        if not choices:
            return None
        parent = node.value
        held = env.vals.get(parent.value) if isinstance(parent, cst.Name) else None
        if isinstance(held, values.QueryVal) and held.method in ("instance", "new"):
            choices = [c for c in choices if self._points_at(c, held.table)] or choices
        elif len(choices) != 1:
            return None
        child, field = choices[0]
        key = self.key_of(child)
        filters = values.DictVal()
        origin = analyzer.origins(parent, env)
        if key is not None and self.pins(child, [field]):
            filters = filters.with_key(key, origin)
        else:
            filters = filters.with_key(field, origin)
        return values.QueryVal(child, "literal", "qs", filters)

    def _points_at(self, choice: Tuple[str, str], model: Optional[str]) -> bool:
        child, field = choice
        return self.models.get(child, {}).get("fields", {}).get(field, [None, None])[1] == model

    def _apply(self, query: values.QueryVal, link: cst.Call, env, analyzer):
        method = link.func.attr.value
        if query.method == "q":
            return None
        if query.method in ("instance", "new", "serializer"):
            return query if method in ("save", "delete") else None
        if query.table is None:
            return query.replace(filters=_opaque(query.filters)) if method in CHAIN else query
        if method in ("filter", "get") or (method in ("get_or_create", "update_or_create")):
            skip = ("defaults", "create_defaults")
            return query.replace(filters=query.filters.merged(
                self.lookups(query.table, link, env, analyzer, skip, query.filters)))
        if method == "exclude":
            return query  # exclusions never pin the tenant
        if method in ("union", "intersection", "difference", "extra", "none"):
            return query.replace(filters=_opaque(query.filters))
        return query

    def _shortcut(self, call: cst.Call, env, analyzer) -> Optional[values.QueryVal]:
        first = syntax.argument(call, 0, "klass")
        if first is None:
            return None
        model = self.model_named(first, env)
        base = values.QueryVal(model, "literal", "qs") if model else self.chain_value(
            first, env, analyzer)
        if base is None or base.table is None:
            return None
        filters = base.filters.merged(self.lookups(base.table, _without_first(call), env,
                                                   analyzer, base=base.filters))
        found = self.guarded(call, base.replace(filters=filters), analyzer)
        name = syntax.last_part(syntax.dotted(call.func) or "")
        return found.replace(method="instance")  # an object, or a list of them

    def _serializer(self, model: str, call: cst.Call, env, analyzer) -> values.QueryVal:
        instance = syntax.argument(call, 0, "instance")
        held = self.chain_value(instance, env, analyzer) if instance is not None else None
        filters = held.filters if isinstance(held, values.QueryVal) and held.method in (
            "instance", "qs") else None
        return values.QueryVal(model, "literal", "serializer",
                               filters if filters is not None else values.DictVal(),
                               data=None if instance is not None and filters is None
                               else values.DictVal(), negated=instance is not None)

    # -- load, then check ------------------------------------------------------------
    def guarded(self, call, query: values.QueryVal, analyzer) -> values.QueryVal:
        """`x = M.objects.get(pk=pk)` followed by `if x.project_id != request.project.id:
        return ...` (or raise): the row is verified for the tenant the guard compares."""
        key = self.key_of(query.table) if query.table else None
        statement = getattr(analyzer, "statement_node", None)
        if key is None or key in query.filters.must or not isinstance(
                statement, cst.SimpleStatementLine) or self.unit is None:
            return query
        small = statement.body[0]
        if not (isinstance(small, cst.Assign) and small.value is call
                and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
            return query
        name = small.targets[0].target.value
        for following in self._following(statement)[:3]:
            other = self._guard(following, name, query.table)
            if other is not None:
                origin = frozenset({values.Origin("expr", node=other, defs={})})
                return query.replace(filters=query.filters.with_key(key, origin))
            if not isinstance(following, cst.SimpleStatementLine):
                break
        return query

    def _guard(self, stmt, name: str, model: str):
        """The trusted side of `if name.<tenant path> != <trusted>: return/raise`."""
        if not isinstance(stmt, cst.If) or not isinstance(stmt.test, cst.Comparison) \
                or len(stmt.test.comparisons) != 1:
            return None
        target = stmt.test.comparisons[0]
        if not isinstance(target.operator, (cst.NotEqual, cst.IsNot)):
            return None
        body = stmt.body.body
        last = body[-1] if body else None
        if not (isinstance(last, cst.SimpleStatementLine)
                and isinstance(last.body[-1], (cst.Return, cst.Raise))):
            return None
        for mine, other in ((stmt.test.left, target.comparator),
                            (target.comparator, stmt.test.left)):
            path = syntax.dotted(mine)
            if path and path.startswith(name + ".") and self.pins(model, path.split(".")[1:]):
                return other
        return None

    def _following(self, statement) -> list:
        """The statements after `statement` in its block (within the current unit)."""
        unit = self.unit
        cache = getattr(self, "_siblings", None)
        if cache is None or cache[0] is not unit:
            index: Dict[int, Tuple[list, int]] = {}
            stack = [unit.body]
            while stack:
                block = stack.pop()
                items = list(block.body) if isinstance(block, cst.BaseSuite) else list(block)
                for position, item in enumerate(items):
                    index[id(item)] = (items, position)
                    for attr in ("body", "orelse", "finalbody"):
                        inner = getattr(item, attr, None)
                        if isinstance(inner, cst.BaseSuite):
                            stack.append(inner)
                        elif inner is not None and hasattr(inner, "body") and isinstance(
                                getattr(inner, "body"), cst.BaseSuite):
                            stack.append(inner.body)
                            if isinstance(inner, cst.If) and inner.orelse is not None:
                                stack.append(inner.orelse.body)
                    for handler in getattr(item, "handlers", ()):
                        stack.append(handler.body)
            cache = self._siblings = (unit, index)
        found = cache[1].get(id(statement))
        if found is None:
            return []
        items, position = found
        return items[position + 1:]

    # -- class context: get_queryset, get_object, helpers ----------------------------
    def _self_method(self, method: str, env, analyzer) -> Optional[values.QueryVal]:
        cls = self.unit.cls if self.unit is not None else None
        if cls is None:
            return None
        queryset = self.class_queryset(cls, analyzer)
        if queryset is None:
            return None
        if method == "get_object":
            return queryset.replace(method="instance",
                                    filters=queryset.filters.with_key("pk", frozenset()))
        return queryset

    def class_queryset(self, cls: str, analyzer=None) -> Optional[values.QueryVal]:
        if f"{cls}.get_queryset" in self.functions:
            return self._returned(f"{cls}.get_queryset", analyzer, 0)
        node = self._class_attribute(cls, "queryset")
        if node is None:
            return None
        return self.chain_value(node, flow.Env({}, {}), self._collector(), 2)

    def _class_attribute(self, cls: str, name: str):
        for stmt in self.info_class(cls):
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and any(
                            isinstance(t.target, cst.Name) and t.target.value == name
                            for t in small.targets):
                        return small.value
        return None

    def info_class(self, cls: str):
        node = self.classes.get(cls)
        if node is None:
            return ()
        return node.body.body

    def _collector(self):
        return _collector_class()([], lambda *nested: None, self.info.constants, [self])

    def _returned(self, qualname: str, analyzer, depth: int) -> Optional[values.QueryVal]:
        """The queryset a same-module function or method returns (its returns joined)."""
        if qualname in self.returns:
            value = self.returns[qualname]
            return value if isinstance(value, values.QueryVal) else None
        node = self.functions.get(qualname)
        if node is None or depth > 2:
            return None
        self.returns[qualname] = None  # recursion guard
        from ..analysis.module import unit_for_function
        cls = qualname.rsplit(".", 1)[0] if "." in qualname else None
        unit = unit_for_function(node, qualname, cls)
        saved = self.unit
        self.unit = unit
        collector = self._collector()
        defs = {p.name.value: frozenset({values.Origin("param", name=p.name.value)})
                for p in unit.params}
        try:
            collector.run(node.body.body, flow.Env({}, defs))
        finally:
            self.unit = saved
        value = collector.joined
        self.returns[qualname] = value
        return value if isinstance(value, values.QueryVal) else None

    # -- sinks -----------------------------------------------------------------------
    def start_unit(self, unit) -> None:
        self.unit = unit
        self.in_guarded = self._is_guarded(unit)
        if not self.builtins_done:
            self.builtins_done = True
            self._module_classes(unit)
            self._builtin_sinks()

    def _is_guarded(self, unit) -> bool:
        helpers = set(getattr(self.config, "scoping_helpers", ()))
        if not helpers or unit.node is None:
            return False
        if unit.cls is not None:
            view = self.views.get(unit.cls)
            if view is None:
                return False
            method = unit.qualname.rsplit(".", 1)[-1]
            names = set(view.get("permissions") or ()) | set(
                view.get("decorators", {}).get(method, ()))
            return bool(helpers & names)
        function = self.functions_notes.get(unit.qualname, {})
        return bool(helpers & (set(function.get("decorators", ()))
                               | set(function.get("permissions") or ())))

    def _module_classes(self, unit) -> None:
        body = unit.body if unit.node is None else ()
        for stmt in body:
            if isinstance(stmt, cst.ClassDef):
                self.classes[stmt.name.value] = stmt

    def __call__(self, call, env, analyzer) -> None:
        func = call.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in ("execute", "executemany") and self._is_cursor(func.value):
                self._raw_sql(call, method, syntax.argument(call, 0, "sql"), env, analyzer)
                return
            if method in READS or method in WRITES or method in INSERTS or method in (
                    "save", "raw", "bulk_update"):
                self._terminal(call, method, env, analyzer)
            elif method not in CHAIN:
                self._custom(call, method, env, analyzer)

        else:
            name = syntax.dotted(func) or ""
            if syntax.last_part(name) in _SHORTCUTS:
                value = self._shortcut(call, env, analyzer)
                if value is not None:
                    self._sink(call, syntax.last_part(name), Operation.READ, value, analyzer)
                    return
        self._handed(call, env, analyzer)

    def iterated(self, node, env, analyzer) -> None:
        """`for row in queryset:` (a chain, or a variable holding one) runs the query."""
        query = self.chain_value(node, env, analyzer) if isinstance(
            node, (cst.Call, cst.Name, cst.Attribute, cst.Subscript)) else None
        if query is None or query.method != "qs" or not query.table:
            return
        key = node if isinstance(node, cst.Call) else None
        if key is None:  # a name: report at the `for` statement's first call-free anchor
            key = self._loop_keys.setdefault(node, cst.Call(cst.Name("iter"), [cst.Arg(node)]))
            anchor = node
        else:
            anchor = None
            if isinstance(key.func, cst.Attribute) and key.func.attr.value not in CHAIN \
                    and key in self.sinks:
                return  # `for x in qs.custom()`: the call was recorded already
        self._sink(key, "iterate", Operation.READ, query, analyzer, anchor=anchor)

    def _custom(self, call, method: str, env, analyzer) -> None:
        """`Profile.objects.for_user(user)`: a summarised method that reads or writes
        (`.get()`, `.update()` inside) is a DB call here, with its lookups; one that
        returns a queryset is evaluated where it is used; a method without a summary
        runs a query the tool cannot see into (unverified), and a chain continuing
        from it is the query instead (the outer call replaces this sink)."""
        if method.startswith("_") or method in _NOT_QUERIES:
            return
        query = self.chain_value(call, env, analyzer)
        if query is None or not query.table:
            return
        if query.method == "summary-write":
            self._sink(call, method, Operation.WRITE, query, analyzer)
            return
        if query.method in ("instance", "summary-read"):
            if self._helper(call.func, env) is None:  # the helper's own call is judged there
                self._sink(call, method, Operation.READ, query, analyzer)
            return
        inner = self.chain_value(call.func.value, env, analyzer)
        if inner is None or inner.method != "qs" or query.method != "qs":
            return
        if self.qs_methods.get(inner.table, {}).get(method) is not None:
            return  # a queryset, evaluated where it is used
        self._sink(call, method, Operation.READ, query, analyzer)

    def _terminal(self, call, method: str, env, analyzer) -> None:
        receiver_node = call.func.value
        if isinstance(receiver_node, cst.Call) and receiver_node in self.sinks \
                and self.sinks[receiver_node].method not in READS:
            del self.sinks[receiver_node]  # the custom method's query continues here
        receiver = self.chain_value(call.func.value, env, analyzer)
        if receiver is None or receiver.method == "q":
            return
        if method == "raw":
            if receiver.method == "qs":
                self._raw_sql(call, f"{receiver.table}.objects.raw",
                              syntax.argument(call, 0, "raw_query"), env, analyzer)
            return
        if receiver.method == "new":
            if method == "save":
                self._sink(call, "save", Operation.INSERT, receiver, analyzer,
                           rows=receiver.data)
            return
        if receiver.method == "instance":
            if method in ("save", "delete"):
                self._sink(call, method, Operation.WRITE, receiver, analyzer)
            return
        if receiver.method == "serializer":
            if method != "save":
                return
            extra = self.lookups(receiver.table, call, env, analyzer)
            if receiver.negated:  # bound to an instance: an update of it
                filters = receiver.filters.merged(extra) if receiver.data is not None \
                    else receiver.filters
                self._sink(call, "serializer.save", Operation.WRITE,
                           receiver.replace(filters=filters), analyzer)
            else:
                self._sink(call, "serializer.save", Operation.INSERT, receiver, analyzer,
                           rows=(receiver.data or values.DictVal()).merged(extra))
            return
        if method == "save":
            return
        if method in INSERTS:
            self._sink(call, method, Operation.INSERT, receiver, analyzer,
                       rows=self._rows(receiver, method, call, env, analyzer))
        elif method in WRITES:
            filtered = self._apply(receiver, call, env, analyzer) if method != "update" \
                else receiver
            self._sink(call, method, Operation.WRITE, filtered or receiver, analyzer)
        elif method == "bulk_update":
            self._sink(call, method, Operation.WRITE, receiver.replace(
                filters=_opaque(receiver.filters)), analyzer)
        else:
            filtered = self._apply(receiver, call, env, analyzer) or receiver
            if method in ("get", "first", "last", "earliest", "latest"):
                filtered = self.guarded(call, filtered, analyzer)
            self._sink(call, method, Operation.READ, filtered, analyzer)

    def _rows(self, query, method: str, call, env, analyzer):
        if method == "bulk_create":
            objs = syntax.argument(call, 0, "objs")
            rows: List[values.DictVal] = []
            elements = getattr(objs, "elements", None)
            if isinstance(objs, (cst.ListComp, cst.GeneratorExp)):
                elements = [objs.elt]
                env = analyzer._comprehension_env(objs, env)
            if elements is None:
                held = analyzer.value_of(objs, env) if objs is not None else None
                return held if isinstance(held, values.ListVal) else None
            for element in elements:
                node = getattr(element, "value", element)
                built = self.chain_value(node, env, analyzer)
                rows.append(built.data if isinstance(built, values.QueryVal)
                            and built.method == "new" and built.data is not None
                            else values.OPAQUE)
            return values.ListVal(tuple(rows))
        row = self.lookups(query.table, call, env, analyzer, ("defaults", "create_defaults"),
                           row=True)
        defaults = syntax.argument(call, None, "defaults")
        if defaults is not None:
            held = analyzer.value_of(defaults, env)
            row = row.merged(self._merge(values.DictVal(), query.table, held)
                             if isinstance(held, values.DictVal) else values.OPAQUE)
        return query.filters.merged(row)

    def _handed(self, call, env, analyzer) -> None:
        """A queryset handed to other code (`Serializer(qs, many=True)`, `list(qs)`,
        a template context) is evaluated there: read it here."""
        name = syntax.last_part(syntax.dotted(call.func) or "")
        if name in _EMBEDDING or (isinstance(call.func, cst.Attribute)
                                  and call.func.attr.value in CHAIN | READS | WRITES | INSERTS):
            return
        for arg in call.args:
            for node in _one_level(arg.value):
                query = self.chain_value(node, env, analyzer) if isinstance(
                    node, (cst.Call, cst.Name, cst.Attribute, cst.Subscript)) else None
                if query is None or query.method != "qs" or query.table is None:
                    continue
                key = node if isinstance(node, cst.Call) else call
                if key in self.sinks:
                    continue
                self._sink(key, "evaluate", Operation.READ, query, analyzer)

    def _sink(self, call, method: str, operation, query, analyzer, rows=None,
              anchor=None, unit=None) -> None:
        if operation == Operation.INSERT:
            value = rows
        else:
            filters = query.filters
            value = values.NONE if not filters.may and not filters.opaque else filters
        self.record(dbcalls.Sink(call, unit or self.unit, method, operation, query.table,
                                 "literal" if query.table else "unknown", value, None,
                                 statement=analyzer.statement_node if analyzer else None,
                                 anchor=anchor, built=query.built))

    # -- raw SQL: judged by the raw-SQL analysis (presets/sql.py, pglast) -----------------
    def _is_cursor(self, node) -> bool:
        """`cursor` in `with connection.cursor() as cursor:` (a module that imports
        Django's `connection` / `connections`), or `connection.cursor()` itself."""
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value == "cursor":
            return True
        if self._cursors is None:
            self._cursors = any(target == "django.db" and attr in ("connection", "connections")
                                for target, attr in self.info.imports.values())
        if not self._cursors:
            return False
        name = syntax.dotted(node) or ""
        return bool(name) and name.rsplit(".", 1)[-1] in ("cursor", "cur", "c", "db_cursor")

    def _raw_sql(self, call, method: str, sql_node, env, analyzer) -> None:
        """`M.objects.raw(sql, params)`, `cursor.execute(sql, params)`: the SQL text
        checked like the raw-SQL preset checks it (tables from the models' db tables);
        text the tool cannot read is an unverified DB call."""
        if sql_node is None:
            return
        if self._sql is None:
            from .sql import SqlModule
            self._sql = SqlModule(self.info, self.config, self.catalog)
        part = self._sql
        part.unit = self.unit
        part.sinks = {}
        part.run_sql(call, method, sql_node, (0, 1, False), env, analyzer)
        for sink in part.sinks.values():
            self.record(sink)

    # -- built-in actions of routed DRF views ------------------------------------------
    def _builtin_sinks(self) -> None:
        from ..analysis.module import Unit
        for name, info in self.views.items():
            node = self.classes.get(name)
            builtin = [a for a in info.get("builtin", ()) if a not in info.get("own", ())]
            if node is None or not builtin:
                continue
            routes = {entry[2]: entry for entry in self.routes.get(name, ())
                      if entry[2] in builtin}
            if self.routes and not routes and name in self.routes:
                continue
            query = None if info.get("inherited_queryset") else self.class_queryset(name)
            if query is None and not info.get("inherited_queryset") and not (
                    f"{name}.get_queryset" in self.functions
                    or self._class_attribute(name, "queryset") is not None):
                continue  # no queryset at all: not a model view
            groups = (("read", ("list", "retrieve"), Operation.READ),
                      ("write", ("update", "partial_update", "destroy"), Operation.WRITE),
                      ("insert", ("create",), Operation.INSERT))
            for kind, actions, operation in groups:
                present = [a for a in actions if a in builtin and (a in routes or not
                                                                   self.routes.get(name))]
                if not present:
                    continue
                if kind == "insert" and f"{name}.perform_create" in self.functions:
                    continue
                if kind == "write" and f"{name}.perform_update" in self.functions \
                        and f"{name}.perform_destroy" in self.functions:
                    continue
                labels = [f"{'|'.join(routes[a][0])} {routes[a][1]}" for a in present
                          if a in routes]
                where = ", ".join(dict.fromkeys(labels)) or "(no URL route found)"
                method = f"{where} ({name}.{'/'.join(present)}, built-in"
                method += " on its queryset)" if kind != "insert" else ")"
                unit = Unit(f"{name}.{present[0]}", node, None, name)
                synthetic = cst.Call(cst.Attribute(cst.Name(name), cst.Name(present[0])))
                if query is None:
                    self.record(dbcalls.Sink(synthetic, unit, method, operation, None,
                                             "unknown", None, None, anchor=node.name))
                    continue
                table_query = query
                if kind == "write":
                    table_query = query.replace(filters=query.filters.with_key(
                        info.get("lookup", "pk"), frozenset()))
                rows = values.DictVal() if kind == "insert" else None
                self._sink(synthetic, method, operation, table_query, None, rows=rows,
                           anchor=node.name, unit=unit)


DjangoPreset.part = DjangoModule


_COLLECTOR: Optional[type] = None


def _collector_class() -> type:
    """A flow analyzer that also joins the values of a body's `return`s (built on
    first use: the flow module imports libcst)."""
    global _COLLECTOR
    if _COLLECTOR is None:
        from ..analysis.flow import FlowAnalyzer

        class ReturnCollector(FlowAnalyzer):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                self.joined = None  # the returned values, joined
                self.seen = False

            def small(self, node, env):
                if isinstance(node, cst.Return) and node.value is not None:
                    value = self.value_of(node.value, env)
                    self.joined = value if not self.seen else values.join_values(
                        self.joined, value)
                    self.seen = True
                return super().small(node, env)

        _COLLECTOR = ReturnCollector
    return _COLLECTOR


def _steps(lookup: str) -> List[str]:
    """`folder__organization__slug__in` -> ["folder", "organization", "slug"];
    `folder__id` -> ["folder"] (the relation steps a lookup takes)."""
    steps = [p for p in lookup.split("__") if p not in _OPERATORS]
    while len(steps) > 1 and steps[-1] in ("id", "pk"):
        steps.pop()
    return steps


def _is_principal(node) -> bool:
    """`request.user`, `self.request.user`, `request.user.id`."""
    path = syntax.dotted(node) or ""
    return path.startswith(("request.user", "self.request.user"))


def _is_self(node) -> bool:
    return isinstance(node, cst.Name) and node.value == "self" or (
        isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
        and node.func.value == "super")


def _opaque(filters):
    return values.DictVal(filters.must, filters.may, True, filters.values)


def _without_first(call):
    return call.with_changes(args=call.args[1:]) if call.args and call.args[0].keyword is None \
        else call


def _one_level(node):
    """An argument and, one level down, the values of a dict / list literal."""
    if isinstance(node, cst.Dict):
        return [e.value for e in node.elements]
    if isinstance(node, (cst.List, cst.Tuple)):
        return [e.value for e in node.elements]
    return [node]
