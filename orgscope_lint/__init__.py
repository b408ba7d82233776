"""orgscope-lint: static org-isolation linter and audit tool for multi-tenant Python backends."""

__version__ = "0.2.0"
