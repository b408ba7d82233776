"""The Django preset's project pre-pass (standard-library `ast`, run once per
run before any file is checked, warm runs included: no libcst here).

It reads three kinds of declarations across the project:

- models: `models.Model` subclasses (abstract bases and mixins inherited,
  `Meta.abstract` / `Meta.db_table` / `proxy`), their fields, foreign keys
  with target and `related_name`, and managers; which are tenant-owned (the
  `tenant-key` foreign key, or a foreign key to a tenant-owned parent);
- views: class-based views and viewsets (the built-in actions each inherits
  from DRF's generics and mixins, `@action`s, `permission_classes`,
  `get_permissions()`, `lookup_field`), function views and their decorators,
  and `ModelSerializer`s' `Meta.model`;
- URL configuration: `path()` / `re_path()` / `url()` / `include()` and DRF
  routers' `register()`, joined from every root URL module (one no other
  includes) into full paths with methods, per handler.

The result is plain JSON data (`build_facts`), the preset's `project()` facts:
the engine caches it with the content of the files it read, the catalog takes
its tables from it (`table_facts`), and the per-module part and the Django
route analysis read it as `catalog.project_facts["django"]`.
"""
from __future__ import annotations

import ast
import re
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..catalog import ForeignKey, TableFact

RELATIONS = ("ForeignKey", "OneToOneField", "ManyToManyField", "ParentalKey")
_ALL = ("list", "retrieve", "create", "update", "partial_update", "destroy")
# DRF classes -> the built-in actions they provide
DRF_ACTIONS: Dict[str, Tuple[str, ...]] = {
    "ModelViewSet": _ALL, "ReadOnlyModelViewSet": ("list", "retrieve"),
    "ListModelMixin": ("list",), "CreateModelMixin": ("create",),
    "RetrieveModelMixin": ("retrieve",), "UpdateModelMixin": ("update", "partial_update"),
    "DestroyModelMixin": ("destroy",),
    "ListAPIView": ("list",), "CreateAPIView": ("create",), "RetrieveAPIView": ("retrieve",),
    "DestroyAPIView": ("destroy",), "UpdateAPIView": ("update", "partial_update"),
    "ListCreateAPIView": ("list", "create"),
    "RetrieveUpdateAPIView": ("retrieve", "update", "partial_update"),
    "RetrieveDestroyAPIView": ("retrieve", "destroy"),
    "RetrieveUpdateDestroyAPIView": ("retrieve", "update", "partial_update", "destroy"),
    # Django's own generic views that read `get_queryset()` on GET
    "ListView": ("list",), "DetailView": ("retrieve",),
}
_VIEWSET_BASES = ("ViewSet", "GenericViewSet", "ModelViewSet", "ReadOnlyModelViewSet",
                  "ViewSetMixin")
_VIEW_BASES = ("View", "APIView", "GenericAPIView", "TemplateView", "ListView",
               "DetailView", "FormView", "RedirectView")
# router action -> (HTTP method, on the detail route)
ROUTER_ACTIONS = {"list": ("GET", False), "create": ("POST", False),
                  "retrieve": ("GET", True), "update": ("PUT", True),
                  "partial_update": ("PATCH", True), "destroy": ("DELETE", True)}
# generic API views: HTTP method -> action
_GENERIC_METHODS = {"list": "GET", "create": "POST", "retrieve": "GET", "update": "PUT",
                    "partial_update": "PATCH", "destroy": "DELETE"}
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
# permission classes that require an authenticated user
AUTH_PERMISSIONS = frozenset({
    "IsAuthenticated", "IsAdminUser", "IsAuthenticatedOrReadOnly", "DjangoModelPermissions",
    "DjangoObjectPermissions", "DjangoModelPermissionsOrAnonReadOnly", "TokenHasScope",
    "TokenHasReadWriteScope", "LoginRequiredMixin", "PermissionRequiredMixin",
    "UserPassesTestMixin"})
AUTH_DECORATORS = frozenset({"login_required", "permission_required", "user_passes_test",
                             "staff_member_required"})
PUBLIC_PERMISSIONS = frozenset({"AllowAny"})
DJANGO_MODELS = ("User", "Group", "Permission", "ContentType", "Session", "Site", "LogEntry")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def module_of(path: str) -> Tuple[str, bool]:
    """`app/views.py` -> ("app.views", False) (as analysis/module.py names modules)."""
    parts = path[:-3].split("/") if path.endswith(".py") else path.split("/")
    parts = [p for p in parts if p not in ("", ".", "..")]
    if parts and parts[0] in ("src", "lib") and len(parts) > 1:
        parts = parts[1:]
    package = bool(parts) and parts[-1] == "__init__"
    return ".".join(parts[:-1] if package else parts), package


def _dotted(node) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _last(name: Optional[str]) -> str:
    return name.rsplit(".", 1)[-1] if name else ""


def _string(node) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _kw(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _names_in(node) -> List[str]:
    """`[IsAuthenticated, IsMember]`, `(A, B())`, `A & B` -> class names."""
    found: List[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.List, ast.Tuple, ast.Set)):
            stack.extend(reversed(current.elts))
        elif isinstance(current, ast.BinOp):
            stack.extend((current.right, current.left))
        elif isinstance(current, ast.Call):
            stack.append(current.func)
        else:
            name = _dotted(current)
            if name:
                found.append(_last(name))
    return found


class _Class:
    def __init__(self, module: str, path: str, node: ast.ClassDef) -> None:
        self.module, self.path, self.name = module, path, node.name
        self.bases = []
        for base in node.bases:
            if isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) \
                    and base.func.attr == "from_queryset":  # `Manager.from_queryset(Q)`
                self.bases += [b for b in (_dotted(base.func.value), *(
                    _dotted(a) for a in base.args[:1])) if b]
            elif _dotted(base):
                self.bases.append(_dotted(base) or "")
        # the body, for the queryset summaries: kept for managers and querysets only
        # (every class's tree held to the end of the pre-pass costs memory)
        self.node: Optional[ast.ClassDef] = node if any(
            "QuerySet" in b or "Manager" in b for b in self.bases) else None
        self.fields: Dict[str, Tuple[str, Optional[str], Optional[str]]] = {}
        self.managers: List[str] = []
        self.manager_refs: Dict[str, List[Tuple[str, str]]] = {}  # manager -> (module, class)
        self.abstract = self.proxy = False
        self.meta: Dict[str, str] = {}  # Meta.db_table / Meta.app_label
        self.columns: Dict[str, str] = {}  # field -> its `db_column`
        self.meta_model: Optional[str] = None
        self.methods: Set[str] = set()
        self.decorators: Dict[str, List[str]] = {}  # method -> decorator names
        self.actions: Dict[str, Tuple[bool, Tuple[str, ...], str]] = {}
        self.permissions: Optional[List[str]] = None
        self.lookup = "pk"
        self.attrs: Set[str] = set()
        for stmt in node.body:
            if isinstance(stmt, ast.ClassDef) and stmt.name == "Meta":
                for item in stmt.body:
                    if isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name):
                        key = item.targets[0].id
                        if key == "abstract":
                            self.abstract = getattr(item.value, "value", False) is True
                        elif key == "proxy":
                            self.proxy = getattr(item.value, "value", False) is True
                        elif key == "model":
                            self.meta_model = _last(_dotted(item.value))
                        elif key in ("db_table", "app_label") and _string(item.value):
                            self.meta[key] = _string(item.value) or ""
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.methods.add(stmt.name)
                self._method(stmt)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        self._attribute(target.id, stmt.value)

    def _attribute(self, name: str, value) -> None:
        self.attrs.add(name)
        if name == "permission_classes":
            self.permissions = _names_in(value)
        elif name == "lookup_field" and _string(value):
            self.lookup = _string(value) or "pk"
        if not isinstance(value, ast.Call):
            return
        func = _last(_dotted(value.func))
        if func in RELATIONS:
            target = value.args[0] if value.args else _kw(value, "to")
            text = _string(target)
            target_name = _last(text.replace(".", ".")) if text else _last(_dotted(target))
            if target_name == "self":
                target_name = self.name
            related = _string(_kw(value, "related_name"))
            self.fields[name] = (func, target_name or None, related)
            if _string(_kw(value, "db_column")):
                self.columns[name] = _string(_kw(value, "db_column")) or name
        elif func.endswith("Field"):
            self.fields[name] = ("Field", None, None)
            if _string(_kw(value, "db_column")):
                self.columns[name] = _string(_kw(value, "db_column")) or name
        elif func.endswith("Manager") or func in ("as_manager",) or (
                isinstance(value.func, ast.Call)):  # `X.from_queryset(Q)()`
            self.managers.append(name)
            # the classes whose methods the manager has: `X()`, `Q.as_manager()`,
            # `X.from_queryset(Q)()`
            refs = []
            if isinstance(value.func, ast.Call) and isinstance(value.func.func, ast.Attribute):
                refs = [value.func.func.value, *value.func.args[:1]]
            elif func == "as_manager" and isinstance(value.func, ast.Attribute):
                refs = [value.func.value]
            else:
                refs = [value.func]
            self.manager_refs[name] = [(self.module, r) for r in (_dotted(n) for n in refs) if r]

    def _method(self, node) -> None:
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            name = _last(_dotted(call.func if call else decorator))
            self.decorators.setdefault(node.name, []).append(name)
            if name == "action" and call is not None:
                detail = getattr(_kw(call, "detail"), "value", False) is True
                listed = _kw(call, "methods")
                methods = tuple(m.upper() for m in (
                    _string(e) for e in getattr(listed, "elts", ())) if m) or ("GET",)
                url_path = _string(_kw(call, "url_path")) or node.name
                self.actions[node.name] = (detail, methods, url_path)
        if node.name == "get_permissions":
            for sub in ast.walk(node):
                if isinstance(sub, ast.Return) and sub.value is not None:
                    found = _names_in(sub.value.elt if isinstance(
                        sub.value, ast.ListComp) else sub.value)
                    self.permissions = (self.permissions or []) + [
                        n for n in found if n[:1].isupper()]


class _Module:
    def __init__(self, name: str, package: bool, path: str, tree: ast.Module) -> None:
        self.name, self.package, self.path = name, package, path
        self.imports: Dict[str, Tuple[str, Optional[str]]] = {}
        self.classes: Dict[str, _Class] = {}
        self.functions: Dict[str, List[str]] = {}  # function view -> decorator names
        self.api_methods: Dict[str, Tuple[str, ...]] = {}
        self.function_permissions: Dict[str, List[str]] = {}
        self.assigns: Dict[str, ast.AST] = {}
        self.patterns: List[ast.AST] = []  # urlpatterns elements (or whole expressions)
        self.registers: List[Tuple[str, str, str]] = []  # (router, prefix, viewset)
        self.routers: Set[str] = set()
        self.rest_framework: Optional[ast.Dict] = None
        self.tree_functions: List[ast.FunctionDef] = []  # module-level functions
        for stmt in tree.body:
            self._statement(stmt)

    def _statement(self, stmt) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    self.imports[alias.asname] = (alias.name, None)
                else:
                    head = alias.name.split(".")[0]
                    self.imports[head] = (head, None)
        elif isinstance(stmt, ast.ImportFrom):
            target = _relative(self.name, self.package, stmt.level, stmt.module)
            for alias in stmt.names:
                self.imports[alias.asname or alias.name] = (target, alias.name)
        elif isinstance(stmt, ast.ClassDef):
            self.classes[stmt.name] = _Class(self.name, self.path, stmt)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if _returns_a_manager_chain(stmt):
                self.tree_functions.append(stmt)  # a queryset helper, for the summaries
            decorators = []
            for decorator in stmt.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                name = _last(_dotted(call.func if call else decorator))
                decorators.append(name)
                if name == "api_view" and call is not None and call.args:
                    self.api_methods[stmt.name] = tuple(
                        m.upper() for m in (_string(e) for e in getattr(
                            call.args[0], "elts", ())) if m)
                elif name == "api_view":
                    self.api_methods[stmt.name] = ("GET",)
                elif name == "permission_classes" and call is not None and call.args:
                    self.function_permissions[stmt.name] = _names_in(call.args[0])
                elif name in ("require_POST", "require_GET", "require_http_methods"):
                    methods = ("POST",) if name == "require_POST" else ("GET",)
                    if call is not None and call.args:
                        methods = tuple(m.upper() for m in (_string(e) for e in getattr(
                            call.args[0], "elts", ())) if m)
                    self.api_methods.setdefault(stmt.name, methods)
            self.functions[stmt.name] = decorators
        elif isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                if not isinstance(target, ast.Name) or stmt.value is None:
                    continue
                self.assigns[target.id] = stmt.value
                if target.id == "urlpatterns":
                    self._patterns(stmt.value)
                elif target.id == "REST_FRAMEWORK" and isinstance(stmt.value, ast.Dict):
                    self.rest_framework = stmt.value
                elif isinstance(stmt.value, ast.Call) and _last(
                        _dotted(stmt.value.func)).endswith("Router"):
                    self.routers.add(target.id)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "register" and len(call.args) >= 2:
                prefix = _string(call.args[0])
                router = _dotted(func.value)
                viewset = _dotted(call.args[1])
                if prefix is not None and router and viewset:
                    self.registers.append((router, prefix, viewset))
            elif isinstance(func, ast.Attribute) and func.attr in ("extend", "append") \
                    and _dotted(func.value) == "urlpatterns" and call.args:
                self._patterns(call.args[0] if func.attr == "extend"
                               else ast.List([call.args[0]]))
        elif isinstance(stmt, (ast.If, ast.Try)):
            for inner in stmt.body + getattr(stmt, "orelse", []):
                self._statement(inner)

    def _patterns(self, value) -> None:
        if isinstance(value, (ast.List, ast.Tuple)):
            self.patterns.extend(value.elts)
        elif isinstance(value, ast.BinOp):
            self._patterns(value.left)
            self._patterns(value.right)
        else:
            self.patterns.append(value)  # `router.urls`, a name


def _returns_a_manager_chain(function) -> bool:
    """A function that returns a value and reaches a model manager (`M.objects...`)
    somewhere: in the `return` or in a name it returns (`qs = M.objects...`)."""
    returns = manager = False
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and node.value is not None:
            returns = True
        elif isinstance(node, ast.Attribute) and node.attr in ("objects", "_default_manager"):
            manager = True
    return returns and manager


def _relative(module: str, package: bool, level: int, target: Optional[str]) -> str:
    if level == 0:
        return target or ""
    parts = module.split(".") if module else []
    if not package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: max(len(parts) - (level - 1), 0)]
    if target:
        parts.append(target)
    return ".".join(parts)


class Project:
    """Every parsed module, with name resolution across imports."""

    def __init__(self, trees: Iterable[Tuple[str, ast.Module]]) -> None:
        self.modules: Dict[str, _Module] = {}
        for rel, tree in trees:
            name, package = module_of(rel)
            self.modules[name] = _Module(name, package, rel, tree)
        self.by_name: Dict[str, List[_Class]] = {}
        for module in self.modules.values():
            for cls in module.classes.values():
                self.by_name.setdefault(cls.name, []).append(cls)

    def resolve(self, module: _Module, ref: str, depth: int = 0):
        """The module-level object `ref` names in `module`: (module, name) or None."""
        head, _, rest = ref.partition(".")
        if head in module.imports:
            target, attr = module.imports[head]
            if attr is not None:
                sub = f"{target}.{attr}"
                if sub in self.modules:
                    target = sub
                elif not rest:
                    owner = self.modules.get(target)
                    if owner is None:
                        return None
                    if attr in owner.imports and depth < 6 and attr not in owner.classes \
                            and attr not in owner.functions:
                        return self.resolve(owner, attr, depth + 1)
                    return owner, attr
            parts = rest.split(".") if rest else []
            while len(parts) > 1 and f"{target}.{parts[0]}" in self.modules:
                target = f"{target}.{parts.pop(0)}"
            owner = self.modules.get(target)
            if owner is None or len(parts) != 1:
                return (owner, None) if owner is not None and not parts else None
            return owner, parts[0]
        if not rest:
            return module, head
        return None

    def class_of(self, module: _Module, ref: str) -> Optional[_Class]:
        found = self.resolve(module, ref)
        if found and found[1] and found[1] in found[0].classes:
            return found[0].classes[found[1]]
        candidates = self.by_name.get(_last(ref), [])
        return candidates[0] if len(candidates) == 1 else None

    def ancestors(self, cls: _Class) -> List[object]:
        """Project base classes (as `_Class`) and outside base names (str), nearest first."""
        found: List[object] = []
        seen = {id(cls)}
        stack = [(cls, b) for b in reversed(cls.bases)]
        while stack:
            owner, base = stack.pop()
            parent = self.class_of(self.modules[owner.module], base)
            if parent is not None and id(parent) not in seen:
                seen.add(id(parent))
                found.append(parent)
                stack.extend((parent, b) for b in reversed(parent.bases))
            elif parent is None:
                found.append(_last(base))
        return found


# --- models -------------------------------------------------------------------------

def model_catalog(project: Project, tenant_model: str, tenant_key: str,
                  global_models: Sequence[str], tenant_models: Sequence[str]):
    """model -> {fields, related accessors, managers, key, path} (plain data)."""
    models: Dict[str, Tuple[_Class, Dict[str, Tuple[str, Optional[str], Optional[str]]]]] = {}
    tables: Dict[str, str] = {}
    for classes in project.by_name.values():
        for cls in classes:
            ancestors = project.ancestors(cls)
            if "Model" not in ancestors and not any(
                    isinstance(a, _Class) and a.name in models for a in ancestors):
                if not _is_model(cls, ancestors):
                    continue
            fields: Dict[str, Tuple[str, Optional[str], Optional[str]]] = {}
            managers = list(cls.managers)
            refs: Dict[str, List[Tuple[str, str]]] = {}
            for ancestor in reversed(ancestors):
                if isinstance(ancestor, _Class):
                    fields.update(ancestor.fields)
                    managers += ancestor.managers
                    refs.update(ancestor.manager_refs)
            refs.update(cls.manager_refs)
            cls.manager_refs = refs
            fields.update(cls.fields)
            columns: Dict[str, str] = {}
            for ancestor in reversed(ancestors):
                if isinstance(ancestor, _Class):
                    columns.update(ancestor.columns)
            columns.update(cls.columns)
            cls.columns = columns
            cls.managers = list(dict.fromkeys(managers))
            if not cls.abstract:
                models[cls.name] = (cls, fields)
                tables[cls.name] = _db_table(cls, ancestors)
    # `ForeignKey("db.WorkSpace")` names `Workspace`: Django resolves model names
    # case-insensitively
    spelled = {name.lower(): name for name in models}
    tenant_model = spelled.get(tenant_model.lower(), tenant_model)
    for name, (cls, fields) in models.items():
        for field, (kind, target, related) in list(fields.items()):
            if target is not None and target not in models and target.lower() in spelled:
                fields[field] = (kind, spelled[target.lower()], related)
    keys: Dict[str, str] = {}
    for name, (cls, fields) in models.items():
        if name == tenant_model or name in global_models:
            continue
        direct = [f for f, (kind, target, _) in fields.items()
                  if kind != "ManyToManyField" and (f == tenant_key and kind != "Field"
                                                    or target == tenant_model)]
        if tenant_key in fields and fields[tenant_key][0] == "Field":
            direct.insert(0, tenant_key)  # a plain `organization_id` column
        if direct:
            keys[name] = tenant_key if tenant_key in direct else direct[0]
    changed = True
    while changed:  # tenant-owned through a foreign key to a tenant-owned parent
        changed = False
        for name, (cls, fields) in models.items():
            if name in keys or name == tenant_model or name in global_models:
                continue
            for field, (kind, target, _) in fields.items():
                if kind in ("ForeignKey", "OneToOneField", "ParentalKey") and target in keys \
                        and target != name:
                    keys[name] = field
                    changed = True
                    break
    for name in tenant_models:
        if name in models and name not in keys:
            keys[name] = tenant_key
    notes: Dict[str, dict] = {}
    for name, (cls, fields) in models.items():
        notes[name] = {"fields": {f: [kind, target] for f, (kind, target, _) in fields.items()},
                       "related": {}, "managers": cls.managers or ["objects"],
                       "key": keys.get(name), "path": cls.path, "table": tables[name],
                       "columns": {f: cls.columns.get(f, f"{f}_id" if kind in (
                           "ForeignKey", "OneToOneField", "ParentalKey") else f)
                           for f, (kind, _, _) in fields.items() if kind != "ManyToManyField"}}
    for name, (cls, fields) in models.items():
        for field, (kind, target, related) in fields.items():
            if kind in RELATIONS and target in notes and related != "+":
                accessor = related or (name.lower() + ("" if kind == "OneToOneField" else "_set"))
                notes[target]["related"][accessor] = [name, field]
    return notes


def _db_table(cls: _Class, ancestors) -> str:
    """The model's table in SQL: `Meta.db_table`, else `<app label>_<model>` (the
    app is the package holding the `models` module or package); a proxy's is
    its concrete parent's."""
    if cls.proxy:
        parent = next((a for a in ancestors if isinstance(a, _Class) and not a.abstract
                       and not a.proxy), None)
        if parent is not None:
            return _db_table(parent, ())
    if cls.meta.get("db_table"):
        return cls.meta["db_table"]
    label = cls.meta.get("app_label")
    if not label:
        parts = cls.module.split(".")
        if "models" in parts[1:]:
            label = parts[parts.index("models", 1) - 1]
        else:
            label = parts[-2] if len(parts) > 1 else parts[0]
    return f"{label}_{cls.name.lower()}"


def _is_model(cls: _Class, ancestors) -> bool:
    return any(base == "models.Model" or base.endswith(".Model") for base in cls.bases)


# --- views and URLs ------------------------------------------------------------------

def _view_kind(ancestors) -> Optional[str]:
    names = [a if isinstance(a, str) else a.name for a in ancestors]
    if any(n in _VIEWSET_BASES or n.endswith("ViewSet") for n in names):
        return "viewset"
    if any(n in _VIEW_BASES or n in DRF_ACTIONS or n.endswith("View") for n in names):
        return "view"
    return None


def view_classes(project: Project) -> Dict[str, Dict[str, dict]]:
    """module -> class -> {kind, builtin actions, methods, actions, permissions, ...}."""
    found: Dict[str, Dict[str, dict]] = {}
    for module in project.modules.values():
        for cls in module.classes.values():
            ancestors = project.ancestors(cls)
            kind = _view_kind(ancestors)
            if kind is None:
                continue
            builtin: List[str] = []
            methods = set(cls.methods)
            actions = dict(cls.actions)
            permissions = cls.permissions
            inherited_queryset = False
            for ancestor in ancestors:
                if isinstance(ancestor, str):
                    builtin += [a for a in DRF_ACTIONS.get(ancestor, ()) if a not in builtin]
                    if ancestor in AUTH_PERMISSIONS or ancestor in PUBLIC_PERMISSIONS:
                        permissions = (permissions or []) + [ancestor]
                else:
                    methods |= ancestor.methods
                    for key, value in ancestor.actions.items():
                        actions.setdefault(key, value)
                    if permissions is None:
                        permissions = ancestor.permissions
                    if {"queryset", "get_queryset"} & (ancestor.attrs | ancestor.methods):
                        inherited_queryset = True
                    if ancestor.name in ("LoginRequiredMixin",):
                        permissions = (permissions or []) + [ancestor.name]
            names = [a if isinstance(a, str) else a.name for a in ancestors]
            drf = any(n in DRF_ACTIONS and n not in ("ListView", "DetailView")
                      or n in _VIEWSET_BASES or n.endswith("ViewSet")
                      or n in ("APIView", "GenericAPIView") for n in names)
            found.setdefault(module.name, {})[cls.name] = {
                "kind": kind, "drf": drf, "builtin": builtin, "own": sorted(cls.methods),
                "methods": sorted(methods), "actions": {k: [v[0], list(v[1]), v[2]]
                                                        for k, v in actions.items()},
                "permissions": permissions, "lookup": cls.lookup,
                "decorators": {m: d for m, d in cls.decorators.items()},
                "inherited_queryset": inherited_queryset and not (
                    {"queryset", "get_queryset"} & (cls.attrs | cls.methods))}
    return found


def serializers(project: Project) -> Dict[str, list]:
    """ModelSerializer -> [model, whether it saves with its own create()/update()]."""
    found = {}
    for module in project.modules.values():
        for cls in module.classes.values():
            if cls.meta_model and any("Serializer" in b for b in cls.bases):
                found[cls.name] = [cls.meta_model, bool({"create", "update"} & cls.methods)]
    return found


def _django_path(route: str, regex: bool) -> str:
    if regex:
        route = route.lstrip("^").rstrip("$")
        route = _REGEX_GROUP.sub(lambda m: "{" + m.group(1) + "}", route)
        route = route.replace("\\.", ".")
        return route
    return _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", route)


def _join(prefix: str, segment: str) -> str:
    if not segment:
        return prefix
    if not prefix.endswith("/"):
        prefix += "/"
    return prefix + segment.lstrip("/")


Entry = Tuple[List[str], str, str]  # (methods, full path, action)


def url_map(project: Project, views: Dict[str, Dict[str, dict]]) -> Dict[str, Dict[str, list]]:
    """handler module -> handler (class or function) -> [[methods, path, action], ...]."""
    included: Set[str] = set()
    for module in project.modules.values():
        for element in module.patterns:
            for node in ast.walk(element):
                if isinstance(node, ast.Call) and _last(_dotted(node.func)) == "include" \
                        and node.args:
                    target = _string(node.args[0]) or _string(getattr(
                        node.args[0], "elts", [None])[0])
                    if target:
                        included.add(target)
    routes: Dict[str, Dict[str, list]] = {}
    roots = [m for m in project.modules.values() if (m.patterns or m.registers)
             and m.name not in included]
    for root in sorted(roots, key=lambda m: m.name):
        _walk(project, views, root, "/", routes, 0)
    return routes


def _walk(project, views, module: _Module, prefix: str, routes, depth: int) -> None:
    if depth > 12:
        return
    for element in module.patterns:
        _pattern(project, views, module, element, prefix, routes, depth)


def _pattern(project, views, module: _Module, element, prefix: str, routes, depth: int) -> None:
    if not isinstance(element, ast.Call):
        name = _dotted(element)
        if name and name.endswith(".urls"):  # `router.urls` added to urlpatterns
            _router(project, views, module, name[:-5], prefix, routes)
        elif name and name in module.assigns:
            value = module.assigns[name]
            for inner in getattr(value, "elts", [value]):
                if inner is not element:
                    _pattern(project, views, module, inner, prefix, routes, depth + 1)
        return
    func = _last(_dotted(element.func))
    if func not in ("path", "re_path", "url") or not element.args:
        return
    text = _path_text(module, element.args[0])
    if text is None:
        return
    here = _join(prefix, _django_path(text, func != "path"))
    target = element.args[1] if len(element.args) > 1 else _kw(element, "view")
    if isinstance(target, ast.Call) and _last(_dotted(target.func)) == "include" and target.args:
        inner = target.args[0]
        if isinstance(inner, ast.Tuple) and inner.elts:
            inner = inner.elts[0]
        name = _string(inner)
        if name is not None:
            child = project.modules.get(name)
            if child is not None:
                _walk(project, views, child, here, routes, depth + 1)
            return
        dotted = _dotted(inner)
        if dotted and dotted.endswith(".urls"):
            _router(project, views, module, dotted[:-5], here, routes)
        elif isinstance(inner, (ast.List, ast.Tuple)):
            for item in inner.elts:
                _pattern(project, views, module, item, here, routes, depth + 1)
        elif dotted and dotted in module.assigns:
            for item in getattr(module.assigns[dotted], "elts", ()):
                _pattern(project, views, module, item, here, routes, depth + 1)
        elif dotted:
            found = project.resolve(module, dotted)
            if found and found[1] is None:
                _walk(project, views, found[0], here, routes, depth + 1)
        return
    if isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute) \
            and target.func.attr == "as_view":
        view = _dotted(target.func.value)
        found = project.resolve(module, view) if view else None
        cls = project.class_of(module, view) if view else None
        if cls is None:
            return
        info = views.get(cls.module, {}).get(cls.name)
        if info is None:
            return
        mapping = target.args[0] if target.args else _kw(target, "actions")
        if isinstance(mapping, ast.Dict):
            for key, value in zip(mapping.keys, mapping.values):
                method, action = _string(key), _string(value)
                if method and action:
                    _add(routes, cls, [method.upper()], here, action)
        else:
            _class_routes(routes, cls, info, here)
        del found
        return
    name = _dotted(target)
    if not name:
        return
    found = project.resolve(module, name)
    if found and found[1] and found[1] in found[0].functions:
        owner, function = found
        methods = list(owner.api_methods.get(function, ("GET",)))
        routes.setdefault(owner.name, {}).setdefault(function, []).append(
            [methods, here, function])


def _path_text(module: _Module, node) -> Optional[str]:
    """A route string: a literal, a module-level string, or an f-string of those
    (a prefix computed at import time counts as empty)."""
    if isinstance(node, ast.Name):
        value = module.assigns.get(node.id)
        return _string(value) if value is not None and _string(value) is not None else ""
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                parts.append(_path_text(module, value.value) or "")
            else:
                parts.append(_string(value) or "")
        return "".join(parts)
    return _string(node)


def _class_routes(routes, cls: _Class, info: dict, path: str) -> None:
    """`View.as_view()`: a method per HTTP verb the class handles."""
    own = set(info["methods"])
    for verb in HTTP_METHODS:
        if verb in own:
            _add(routes, cls, [verb.upper()], path, verb)
    for action in info["builtin"]:
        verb = _GENERIC_METHODS[action]
        if verb.lower() not in own:
            _add(routes, cls, [verb], path, action)


def _add(routes, cls: _Class, methods: List[str], path: str, action: str) -> None:
    routes.setdefault(cls.module, {}).setdefault(cls.name, []).append([methods, path, action])


def _router(project, views, module: _Module, router: str, prefix: str, routes) -> None:
    owner = module
    if router not in module.routers:
        found = project.resolve(module, router)
        if not found or found[1] is None:
            return
        owner, router = found[0], found[1]
    for name, register_prefix, viewset in owner.registers:
        if name != router:
            continue
        cls = project.class_of(owner, viewset)
        info = views.get(cls.module, {}).get(cls.name) if cls else None
        if cls is None or info is None:
            continue
        base = _join(prefix, _django_path(register_prefix, True).strip("/")) + "/"
        detail = f"{base}{{{info['lookup']}}}/"
        for action in ("list", "create", "retrieve", "update", "partial_update", "destroy"):
            if action in info["builtin"] or action in info["methods"]:
                method, on_detail = ROUTER_ACTIONS[action]
                _add(routes, cls, [method], detail if on_detail else base, action)
        for action, (on_detail, methods, url_path) in sorted(info["actions"].items()):
            _add(routes, cls, list(methods), f"{detail if on_detail else base}{url_path}/",
                 action)


def settings_permissions(project: Project) -> Optional[List[str]]:
    """`REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]` (and authentication) of a settings module."""
    for module in project.modules.values():
        value = module.rest_framework
        if value is None:
            continue
        for key, item in zip(value.keys, value.values):
            if _string(key) == "DEFAULT_PERMISSION_CLASSES":
                return [_last(s) for s in (_string(e) for e in getattr(item, "elts", ())) if s]
    return None


def build_facts(trees, tenant_model: str, tenant_key: str, global_models, tenant_models):
    """The pre-pass over the project's (path, `ast` tree) pairs: plain JSON data
    (models, views, serializers, the URL map, settings' default permission
    classes, function views' decorators), cached by the engine with the files'
    content; `table_facts()` turns its models into the catalog's `TableFact`s."""
    from .django_querysets import summaries
    project = Project(trees)
    models = model_catalog(project, tenant_model, tenant_key, global_models, tenant_models)
    views = view_classes(project)
    return {"models": models, "views": views, "serializers": serializers(project),
            "querysets": summaries(project, models),
            "routes": url_map(project, views),
            "default_permissions": settings_permissions(project),
            "functions": {m.name: {f: {"decorators": d,
                                       "permissions": m.function_permissions.get(f)}
                                   for f, d in m.functions.items()}
                          for m in project.modules.values() if m.functions}}


def table_facts(facts) -> List[TableFact]:
    """The catalog's tables from the pre-pass's models: each model (by class
    name, as the ORM code names it), and Django's own tables as shared ones."""
    models = (facts or {}).get("models", {})
    found: List[TableFact] = []
    for name in DJANGO_MODELS:  # Django's own tables: shared, never tenant-owned
        if name not in models:
            found.append(TableFact(name, ("id",), "django (django.contrib)", ("id",), (), name))
    for name, data in models.items():
        fields = data["fields"]
        columns = ["id", *fields, *(f"{f}_id" for f, (kind, _) in fields.items()
                                    if kind in ("ForeignKey", "OneToOneField"))]
        fks = tuple(ForeignKey(f, target, "id") for f, (kind, target) in fields.items()
                    if kind in ("ForeignKey", "OneToOneField") and target)
        found.append(TableFact(name, tuple(dict.fromkeys(columns)), f"django ({data['path']})",
                               ("id",), fks, name, tenant_key=data.get("key")))
    for name, data in models.items():  # the same model as raw SQL names it (its db table)
        table = data.get("table")
        if not table or table.lower() == name.lower():
            continue
        sql_columns = data.get("columns", {})
        key = data.get("key")
        fks = tuple(ForeignKey(sql_columns.get(f, f"{f}_id"), models[target]["table"], "id")
                    for f, (kind, target) in data["fields"].items()
                    if kind in ("ForeignKey", "OneToOneField") and target in models
                    and models[target].get("table"))
        found.append(TableFact(table, tuple(dict.fromkeys(("id", *sql_columns.values()))),
                               f"django ({data['path']}, {name})", ("id",), fks,
                               tenant_key=sql_columns.get(key, key) if key else None))
    return found
