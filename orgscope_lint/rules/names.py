"""ORG301 undefined-name, with the project module to import the name from."""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Set

from ..facts import FileFacts, ImportOptions, RawFinding
from .base import Example, Rule

def undefined_name(finding) -> str:
    """The name an ORG301 finding is about (its snippet is the name's source)."""
    return finding.snippet.strip("() \t")


class UndefinedName(Rule):
    """A name is used but never imported or defined.

    ## What it does
    Flags names read in a module but bound in no enclosing scope and not
    builtins, with Python's scoping rules (class bodies, comprehensions,
    `global`/`nonlocal`, `del`, `except ... as e`, annotations, `TYPE_CHECKING`
    imports, star imports resolved through the project). When a project module
    defines the name at its top level, the message says which one and how to
    import it. Names used only in annotations are not reported when the
    target Python (`target-version`, else `requires-python`) is 3.14 or later,
    which evaluates annotations lazily (PEP 649/749).

    ## Why is this bad?
    The code raises `NameError` when it runs. In the seed review, the guard that
    rejects a token without an organization (`raise ValidationError(...)`)
    crashed with a `NameError` instead, because `ValidationError` was never
    imported.

    ## Example
    ```python
    from app.core.exceptions import NotFoundError

    def export(org_id):
        if not org_id:
            raise ValidationError("Exports require an active organization")
    ```

    ## Use instead
    ```python
    from app.core.exceptions import NotFoundError, ValidationError
    ```

    ## Fix
    When exactly one project module defines the name, `--fix` adds it to the
    file's `from module import ...` (in sorted position, keeping parentheses and
    trailing comma) or adds a new import at the end of the import block.
    """

    code = "ORG301"
    name = "undefined-name"
    fixable = True
    security_severity = "5.0"
    accepted_in_system_context = False  # a NameError is a bug in any context
    VALID = (
        """
        from app.core.exceptions import ValidationError

        def check(org_id):
            if not org_id:
                raise ValidationError("organization required")
        """,
        Example(
            """
            from app.core.exceptions import *

            def check(org_id):
                if not org_id:
                    raise ValidationError("organization required")
            """,
            files={"app/core/exceptions.py": "class ValidationError(Exception):\n    pass\n"},
        ),
        """
        from somewhere_else import *

        def anything():
            return undefined_here()
        """,
        """
        def later():
            return LIMIT

        LIMIT = 10
        """,
        Example(
            """
            def handler(user: CurrentUser) -> Response:
                return user
            """,
            # Python 3.14 evaluates annotations only when asked (PEP 649/749)
            config={"target-version": "py314"},
        ),
    )
    INVALID = (
        Example(
            """
            from app.core.exceptions import NotFoundError

            def export(org_id):
                if not org_id:
                    raise ValidationError("Exports require an active organization")  # expect: ORG301
                raise NotFoundError("nothing")
            """,
            path="app/api/v1/export.py",
            files={"app/core/exceptions.py": ("class ValidationError(Exception):\n    pass\n"
                                              "class NotFoundError(Exception):\n    pass\n")},
            fixed="""
            from app.core.exceptions import NotFoundError, ValidationError

            def export(org_id):
                if not org_id:
                    raise ValidationError("Exports require an active organization")  # expect: ORG301
                raise NotFoundError("nothing")
            """,
        ),
        Example(
            """
            \"\"\"CSV exports.\"\"\"
            import csv

            def export(rows, org_id):
                if not org_id:
                    raise ValidationError("an organization is required")  # expect: ORG301
                return csv.writer(rows)
            """,
            path="app/api/v1/export.py",
            files={"app/core/exceptions.py": "class ValidationError(Exception):\n    pass\n"},
            fixed="""
            \"\"\"CSV exports.\"\"\"
            import csv
            from app.core.exceptions import ValidationError

            def export(rows, org_id):
                if not org_id:
                    raise ValidationError("an organization is required")  # expect: ORG301
                return csv.writer(rows)
            """,
        ),
        """
        class Settings:
            timeout = 5

            def doubled(self):
                return timeout * 2  # expect: ORG301
        """,
        Example(
            """
            def handler(user: CurrentUser):  # expect: ORG301
                return user
            """,
            config={"target-version": "py313"},
        ),
        """
        try:
            pass
        except ValueError as error:
            pass
        print(error)  # expect: ORG301
        """,
        Example(
            """
            from app.core.exceptions import *

            def check():
                raise Missing("x")  # expect: ORG301
            """,
            files={"app/core/exceptions.py": "class ValidationError(Exception):\n    pass\n"},
        ),
    )

    def __init__(self) -> None:
        self._project = None
        self._by_path: Dict[str, FileFacts] = {}
        self._exports: Dict[str, Optional[Set[str]]] = {}

    # -- per file ------------------------------------------------------------------

    def findings_in_file(self, facts: FileFacts, config) -> List[RawFinding]:
        names = facts.names
        if names is None:
            return []
        return [RawFinding(self.code, u.span, f"`{u.name}` is not defined", snippet=u.snippet)
                for u in names.undefined]

    # -- project stage -------------------------------------------------------------

    def revise(self, project, path: str, finding: RawFinding) -> Optional[RawFinding]:
        """Drop names a star import provides; say where the others are defined."""
        if project is not self._project:
            self._project = project
            self._by_path = {f.path: f for f in project.files}
            self._exports = {}
        facts = self._by_path.get(path)
        data = facts.names if facts is not None else None
        if data is None:
            return finding
        name = undefined_name(finding)
        if facts.is_package and _imports_submodule(facts.module, name, data):
            return None
        for module in data.star_imports:
            exported = self._exported(module, set())
            if exported is None or name in exported:
                return None
        candidates = [m for m in project.definers(name) if m != facts.module]
        message, fix = _advice(name, candidates, data.imports_from,
                               data.import_options.get(name))
        if isinstance(fix, str):
            return dataclasses.replace(finding, message=message, fix=None, no_fix=fix)
        return dataclasses.replace(finding, message=message, fix=fix, no_fix=None)

    def _exported(self, module: str, seen: Set[str]) -> Optional[Set[str]]:
        """Names `from module import *` binds; None when they cannot be known
        (a module outside the project, or one that star-imports from one)."""
        if module in self._exports:
            return self._exports[module]
        facts = self._project.modules.get(module)
        data = facts.names if facts is not None else None
        if data is None or data.dynamic:
            return None
        if module in seen:
            return set()
        seen.add(module)
        if data.all is not None:
            names = set(data.all)
        else:
            names = {n for n in data.defined if not n.startswith("_")}
            for inner in data.star_imports:
                more = self._exported(inner, seen)
                if more is None:
                    names = None
                    break
                names |= more
        self._exports[module] = names
        return names


def _imports_submodule(package: str, name: str, data) -> bool:
    """In a package's `__init__`, `from .sub import ...` also binds `sub` (the
    import system sets the submodule as an attribute of its package)."""
    prefix = f"{package}.{name}"
    return any(m == prefix or m.startswith(prefix + ".")
               for m in data.star_imports + data.imports_from)


def _advice(name: str, candidates: List[str], imports_from,
            options: Optional[ImportOptions]) -> tuple:
    """(message, the fix or why there is none) for an undefined name and the
    project modules defining it."""
    if len(candidates) == 1:
        module = candidates[0]
        if module in imports_from:
            message = f"`{name}` is not imported: add it to the imports from `{module}`"
        else:
            message = f"`{name}` is not imported: import it: `from {module} import {name}`"
        return message, (options.fix_for(module) if options is not None
                         else "the file's imports could not be read")
    if candidates:
        listed = ", ".join(f"`{m}`" for m in candidates)
        return (f"`{name}` is not defined: import it from the module that should provide it "
                f"({listed})", f"several project modules define `{name}`: {listed}")
    return (f"`{name}` is not defined: import or define it",
            f"no project module defines `{name}`")
