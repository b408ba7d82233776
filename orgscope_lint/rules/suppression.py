"""ORG901: inline suppressions that suppress nothing (the findings themselves
are matched in `orgscope_lint.suppress`, after every other rule has run)."""
from __future__ import annotations

from .base import Example, Rule


class UnusedSuppression(Rule):
    """An inline suppression that suppressed nothing.

    ## What it does
    Reports `# orgscope: ignore[CODE] reason` comments when no finding of
    `CODE` is reported on that line (or on the statement that starts there),
    codes that no rule has, a bare `# orgscope: ignore` that names no code
    (it suppresses nothing), and, with `require-suppression-reason = true`,
    suppressions that give no reason (those do not suppress anything).

    ## Why is this bad?
    A stale suppression hides the next real finding on that line: once the
    query it excused is fixed, a later unscoped query added there would pass
    review silently. A suppression without a reason tells the reviewer nothing
    about why cross-tenant access is acceptable.

    ## Example
    ```python
    db.select("agents", {"id": agent_id, "clerk_org_id": org_id})  # orgscope: ignore[ORG101] legacy
    ```

    ## Use instead
    ```python
    db.select("agents", {"id": agent_id, "clerk_org_id": org_id})
    ```

    ## Options
    `require-suppression-reason`. The finding's `fix` holds the edit that
    removes the unused codes (or the whole comment).
    """

    code = "ORG901"
    name = "unused-suppression"
    severity = "warning"
    fixable = True
    security_severity = "2.0"
    suppressible = False
    VALID = (
        """
        def purge(db):
            db.delete("agents", {"status": "archived"})  # orgscope: ignore[ORG102] retention job
        """,
        """
        def purge_all(db):
            db.delete(  # orgscope: ignore[ORG102] retention job spans every org
                "agents",
                {"status": "archived"},
            )
        """,
        Example(
            """
            def purge(db):
                db.delete("agents", {"status": "archived"})  # orgscope: ignore[ORG102] retention
            """,
            config={"require-suppression-reason": True},
        ),
    )
    INVALID = (
        Example(
            """
            def get_agent(db, agent_id, org):
                return db.select_one("agents", {"id": agent_id, "clerk_org_id": org})  # orgscope: ignore[ORG101] old  # expect: ORG901
            """,
            fixed="""
            def get_agent(db, agent_id, org):
                return db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
            """,
        ),
        Example(
            """
            def purge(db):
                db.delete("agents", {"status": "archived"})  # orgscope: ignore[ORG102, ORG105] x  # expect: ORG901
            """,
            fixed="""
            def purge(db):
                db.delete("agents", {"status": "archived"})  # orgscope: ignore[ORG102] x  # expect: ORG901
            """,
        ),
        Example(
            """
            def purge(db):
                db.delete("agents", {"status": "archived"})  # orgscope: ignore[ORG102]  # expect: ORG102, ORG901
            """,
            config={"require-suppression-reason": True},
        ),
        Example(
            """
            def get_agent(db, agent_id, org):
                # orgscope: ignore[ORG101] the filter used to come from a helper  # expect: ORG901
                return db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
            """,
            fixed="""
            def get_agent(db, agent_id, org):
                return db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
            """,
        ),
        Example(
            """
            x = 1  # orgscope: ignore[ORG999] typo  # expect: ORG901
            """,
            fixed="""
            x = 1
            """,
        ),
        """
        def purge(db):
            db.delete("agents", {"status": "archived"})  # orgscope: ignore retention  # expect: ORG102, ORG901
        """,
    )
