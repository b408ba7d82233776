"""The words that say an expression holds the caller (its identity or its
credential), shared by the route analysis (libcst, analysis/routes_flask_hooks.py)
and init's auth guess (ast, guesses/hook_cover.py): a before_request hook is
auth only when its denial is unconditional or tests these alone."""
from __future__ import annotations

import re

# a call whose result is the caller (or its credential): `verify_token(...)`, `decode_jwt(...)`
PRINCIPAL_CALL = re.compile(r"(^|_)(verify|decode|authenticate|authorize|identify|introspect|"
                            r"load_user|get_user|current_user|get_current|get_jwt|jwt|token|"
                            r"principal|identity|credentials?)", re.I)
# a local whose name says it holds the caller or its credential
PRINCIPAL_NAME = re.compile(r"^_?(user|current_user|principal|identity|claims|payload|account|"
                            r"token|api_key|apikey|key|credentials?|auth\w*|header|bearer|"
                            r"session_user|user_id|uid)$", re.I)
# request header / cookie keys that carry a credential
CREDENTIAL_KEY = re.compile(r"auth|token|api[-_]?key|session|bearer", re.I)
# names and strings of checks that are not about who the caller is
NOT_PRINCIPAL = re.compile(r"csrf|xsrf|rate|limit|throttle", re.I)
# containers and lookups that hold the signed-in caller
PRINCIPAL_CONTAINERS = ("session", "flask.session", "g", "flask.g")
PRINCIPAL_GETTERS = ("g.get", "flask.g.get", "session.get", "flask.session.get")
CREDENTIAL_SOURCES = ("request.headers", "request.cookies")
LOGIN_ATTRIBUTES = ("is_authenticated", "is_anonymous")
