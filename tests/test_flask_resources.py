"""Flask-RESTful / Flask-RESTX Resources registered by another module (as redash
does: `api.add_org_resource(AlertResource, "/api/alerts/<alert_id>")` on a
project `Api` subclass), and decorators inherited from a project base class
(`BaseResource.decorators = [login_required]`)."""
import textwrap

from orgscope_lint.testing import config_from, found, run_sources

SOURCES = {
    "app/handlers/base.py": textwrap.dedent("""
        from flask_login import login_required
        from flask_restful import Resource

        class BaseResource(Resource):
            decorators = [login_required]

        class OpenResource(Resource):
            pass
    """),
    "app/handlers/alerts.py": textwrap.dedent("""
        from app.handlers.base import BaseResource, OpenResource

        class AlertResource(BaseResource):
            def get(self, alert_id):
                return {}

            def delete(self, alert_id):
                return "", 204

        class PingResource(OpenResource):
            def get(self):  # expect: ORG201
                return "pong"

        class NotAResource:
            def get(self):
                return None
    """),
    "app/handlers/api.py": textwrap.dedent("""
        from flask import Flask
        from flask_restful import Api

        from app.handlers.alerts import AlertResource, NotAResource, PingResource


        class ApiExt(Api):
            def add_org_resource(self, resource, *urls, **kwargs):
                return self.add_resource(resource, *urls, **kwargs)


        api = ApiExt(prefix="/api")
        api.add_org_resource(AlertResource, "/alerts/<alert_id>", endpoint="alert")
        api.add_resource(PingResource, "/ping")
        api.add_resource(NotAResource, "/nothing")
    """),
}


def test_resources_registered_by_another_module_are_routes_with_inherited_auth():
    result = run_sources(SOURCES, config_from({}))
    assert not result.internal_errors and not result.errors
    table = {(r["methods"][0], r["path"]): (r["handler"], r["file"], r["auth"])
             for r in result.routes}
    assert table == {
        ("GET", "/api/alerts/<alert_id>"): (
            "AlertResource.get", "app/handlers/alerts.py",
            ["login_required", "inherited by AlertResource"]),
        ("DELETE", "/api/alerts/<alert_id>"): (
            "AlertResource.delete", "app/handlers/alerts.py",
            ["login_required", "inherited by AlertResource"]),
        ("GET", "/api/ping"): ("PingResource.get", "app/handlers/alerts.py", []),
    }
    # the unauthenticated one is reported at its method, in the class's module
    assert found(result)[0] == [("app/handlers/alerts.py", 12, "ORG201")]
