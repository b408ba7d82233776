"""What `orgscope-lint init` guesses about a project, each guess with its
evidence: the tenant key (`tenant.py`), the auth dependencies and decorators
(`auth.py`), the system contexts and public routes (`system.py`), scoping
helpers and the manual checklist (`helpers.py`), all from the sources read
once by `source.py`. Which data-access presets apply is the preset registry's
business (`init.detect_presets`)."""
