"""Flask `before_request` hooks that authenticate a whole blueprint or app:
the hook's body turns unauthenticated callers away (or it calls a configured
auth function, or its name is configured), and every route under it (plain
views, Flask-RESTX resources bound to the blueprint) is authenticated with the
hook in its auth chain. A hook that does not leave is no auth."""
import textwrap

import pytest

from orgscope_lint.testing import config_from, found, run_sources

VIEWS = '''
from flask import Blueprint, Flask, abort, g, jsonify, make_response, Response
from flask import request, session
from flask_login import current_user, login_manager
from werkzeug.exceptions import Unauthorized, Forbidden
from flask_restx import Api, Namespace, Resource
from app.auth import verify_session, require_token, log_request, too_many

bp = Blueprint("admin", __name__, url_prefix="/admin")
api = Api(bp, prefix="/rest")
ns = Namespace("things", path="/things")
api.add_namespace(ns)

{hook}


@bp.route("/reports")
def reports():
    return "x"


@ns.route("/<int:thing_id>")
class Thing(Resource):
    def get(self, thing_id):
        return {{}}


def create_app():
    app = Flask(__name__)
    app.register_blueprint(bp)
    return app
'''

AUTH = '''
from flask import abort, request
from werkzeug.exceptions import Unauthorized


def verify_session():
    pass


def require_token():
    if "Authorization" not in request.headers:
        raise Unauthorized("token required")


def log_request():
    print(request.path)


def too_many(address):
    return False
'''


def _routes(hook, config=None, views=VIEWS):
    sources = {"app/views.py": views.format(hook=textwrap.dedent(hook)), "app/auth.py": AUTH}
    result = run_sources(sources, config_from(config or {}))
    assert not result.internal_errors and not result.errors
    return {(r["methods"][0], r["path"]): r["auth"] for r in result.routes}, result


GUARDS = [
    ("""
     @bp.before_request
     def require_login():
         if not current_user.is_authenticated:
             abort(401)
     """, ["bp.before_request(require_login)", "not current_user.is_authenticated: abort(401)"]),
    ("""
     def require_login():
         if current_user.is_anonymous:
             return login_manager.unauthorized()
     bp.before_request(require_login)
     """, ["bp.before_request(require_login)",
           "current_user.is_anonymous: return login_manager.unauthorized()"]),
    ("""
     @bp.before_request
     def check():
         if g.user is None:
             raise Unauthorized()
     """, ["bp.before_request(check)", "raise Unauthorized"]),
    ("""
     @bp.before_request
     def check():
         if not g.get("user"):
             return jsonify(error="login required"), 401
     """, ["bp.before_request(check)", "return 401"]),
    ("""
     @bp.before_request
     def check():
         if not g.get("admin"):
             return make_response("forbidden", 403)
     """, ["bp.before_request(check)", "return 403"]),
    ("""
     @bp.before_request
     def check():
         if not g.get("user"):
             abort(Response("no", status=401))
     """, ["bp.before_request(check)", "abort(401)"]),
    # `or` of principal tests; a token-verifying call's result
    ("""
     @bp.before_request
     def check():
         if current_user.is_anonymous or not session.get("user_id"):
             abort(403)
     """, ["bp.before_request(check)", "not authenticated: abort(403)"]),
    ("""
     @bp.before_request
     def check():
         claims = verify_session(request.headers.get("Authorization"))
         if claims is None:
             abort(401)
     """, ["bp.before_request(check)", "abort(401)"]),
    # a project guard function in another module
    ("bp.before_request(require_token)\n", ["bp.before_request(require_token)",
                                             "raise Unauthorized"]),
    ("""
     @bp.before_request
     def check():
         require_token()
     """, ["bp.before_request(check)", "require_token", "raise Unauthorized"]),
    # Flask's static files let through first, or everything but them guarded
    ("""
     @bp.before_request
     def check():
         if request.endpoint == "static":
             return
         if not current_user.is_authenticated:
             abort(401)
     """, ["bp.before_request(check)", "not current_user.is_authenticated: abort(401)"]),
    ("""
     @bp.before_request
     def check():
         if request.endpoint != "static":
             require_token()
     """, ["bp.before_request(check)", "require_token", "raise Unauthorized"]),
    # a configured auth function called by the hook
    ("""
     @bp.before_request
     def check():
         verify_session()
     """, ["bp.before_request(check)", "verify_session"]),
]


@pytest.mark.parametrize("hook, chain", GUARDS)
def test_a_hook_that_turns_unauthenticated_callers_away_authenticates_the_blueprint(hook, chain):
    table, result = _routes(hook, {"auth-dependencies": ["verify_session"]})
    assert table == {("GET", "/admin/reports"): chain,
                     ("GET", "/admin/rest/things/<int:thing_id>"): chain}
    assert not [f for f in found(result)[0] if f[2] == "ORG201"]


NOT_GUARDS = [
    # another endpoint than the static files let through
    """
    @bp.before_request
    def check():
        if request.endpoint != "admin.login":
            require_token()
    """,
    """
    @bp.before_request
    def check():
        if request.endpoint in ("static", "admin.login"):
            return
        require_token()
    """,
    """
    @bp.before_request
    def log():
        print("request")
    """,
    """
    @bp.before_request
    def load_user():
        g.user = current_user
    """,
    """
    @bp.before_request
    def maybe():
        if not current_user.is_authenticated:
            return None
    """,
    """
    @bp.before_request
    def not_found():
        if not g.get("thing"):
            abort(404)
    """,
    "bp.before_request(log_request)\n",
    """
    @bp.before_request
    def check():
        log_request()
    """,
    # a 401/403 under a condition that does not test the caller covers some requests only
    """
    @bp.before_request
    def csrf_protect():
        if request.method == "POST" and request.form.get("csrf") != session.get("csrf"):
            abort(403)
    """,
    """
    @bp.before_request
    def only_admin_page():
        if request.endpoint == "admin.secret" and not current_user.is_authenticated:
            abort(401)
    """,
    """
    @bp.before_request
    def limits():
        if too_many(request.remote_addr):
            return "slow down", 403
    """,
    # an early return lets some requests past the guard
    """
    @bp.before_request
    def check():
        if request.path.startswith("/admin/public"):
            return
        require_token()
    """,
]


@pytest.mark.parametrize("hook", NOT_GUARDS)
def test_a_hook_that_does_not_leave_is_no_auth(hook):
    table, result = _routes(hook)
    assert table == {("GET", "/admin/reports"): [],
                     ("GET", "/admin/rest/things/<int:thing_id>"): []}
    assert sorted(f[2] for f in found(result)[0]) == ["ORG201", "ORG201"]


def test_a_hook_named_in_auth_dependencies_is_auth():
    hook = """
    @bp.before_request
    def load_user():
        g.user = current_user
    """
    table, _ = _routes(hook, {"auth-dependencies": ["load_user"]})
    assert set(map(tuple, table.values())) == {("bp.before_request(load_user)",)}


APP_WIDE = '''
from flask import Blueprint, Flask, abort
from flask_login import current_user

bp = Blueprint("admin", __name__, url_prefix="/admin")
other = Blueprint("other", __name__, url_prefix="/other")
{hook}

@bp.route("/reports")
def reports():
    return "x"


@other.route("/pages")
def pages():
    return "x"


def create_app():
    app = Flask(__name__)
    {factory_hook}
    app.register_blueprint(bp)
    app.register_blueprint(other)
    return app
'''


def _app_wide(hook="", factory_hook=""):
    sources = {"app/views.py": APP_WIDE.format(hook=textwrap.dedent(hook),
                                               factory_hook=factory_hook)}
    result = run_sources(sources, config_from({}))
    assert not result.internal_errors
    return {r["path"]: r["auth"] for r in result.routes}


def test_before_app_request_on_a_blueprint_authenticates_every_route_of_the_app():
    table = _app_wide("""
    @bp.before_app_request
    def require_login():
        if not current_user.is_authenticated:
            abort(403)
    """)
    chain = ["bp.before_app_request(require_login)",
             "not current_user.is_authenticated: abort(403)"]
    assert table == {"/admin/reports": chain, "/other/pages": chain}


def test_a_blueprint_hook_covers_its_own_routes_only():
    table = _app_wide("""
    @bp.before_request
    def require_login():
        if not current_user.is_authenticated:
            abort(401)
    """)
    assert table["/other/pages"] == [] and table["/admin/reports"][0] == \
        "bp.before_request(require_login)"


def test_an_app_hook_in_the_factory_authenticates_every_route():
    factory_hook = textwrap.indent(textwrap.dedent("""
    @app.before_request
    def require_login():
        if not current_user.is_authenticated:
            abort(401)
    """), "    ").strip()
    table = _app_wide(factory_hook=factory_hook)
    chain = ["app.before_request(require_login)",
             "not current_user.is_authenticated: abort(401)"]
    assert table == {"/admin/reports": chain, "/other/pages": chain}
