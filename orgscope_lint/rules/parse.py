from __future__ import annotations

from .base import Rule


class ParseError(Rule):
    """A file that cannot be parsed.

    ## What it does
    Reports Python files that cannot be checked: files libcst cannot parse
    (syntax errors, Python 2 code), files that cannot be read (permission
    denied) and files that cannot be decoded (invalid UTF-8 without an
    encoding declaration, an unknown codec). Every other file is still checked.

    ## Why is this bad?
    A file that does not parse cannot be verified: any query in it could be
    unscoped. It is also never touched by `--fix`.

    ## Example
    ```python
    print "hello"
    ```

    ## Use instead
    ```python
    print("hello")
    ```
    """

    code = "ORG001"
    name = "parse-error"
    security_severity = "5.0"
    accepted_in_system_context = False
    suppressible = False
    file_not_checked = True
    VALID = ("x = 1\n",)
    INVALID = ("def broken(:  # expect: ORG001\n    pass\n",)
