from __future__ import annotations

from .base import Rule


class ParseError(Rule):
    """A file that cannot be parsed.

    ## What it does
    Reports Python files that libcst cannot parse (syntax errors, Python 2
    code, undecodable bytes). Every other file is still checked.

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
    VALID = ("x = 1\n",)
    INVALID = ("def broken(:  # expect: ORG001\n    pass\n",)
