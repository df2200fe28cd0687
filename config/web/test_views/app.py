"""The test results view: a Flask app that Buildbot's ``wsgi_dashboards`` plugin serves
under ``/plugins/wsgi_dashboards/test-results/`` and puts in the UI's menu.

The plugin fetches ``index.html`` (the overview) into the UI's own page; the build and
history pages are pages of their own, linked from each test and lint step. Flask answers
in Twisted's thread pool: every read of the master (:mod:`.queries`, and who the visitor
is) runs in the reactor through ``blockingCallFromThread``, each a few bounded queries.
That pool also serves logins, log compression and GitHub's calls, so the view holds at
most :data:`AT_ONCE` of its threads: past that a visitor is answered ``503`` at once.

All shown comes from builds, so it is hostile: the templates escape everything (a test
named ``<img onerror=...>`` shows as text), links are built from ids and quoted names
only, and the pages carry a Content-Security-Policy that allows no script and no
resource from elsewhere. A visitor reads only where the REST API would let them read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from buildbot.process.results import statusToString
from flask import Flask, Response, abort, g, render_template, request
from twisted.internet import reactor
from twisted.internet.threads import blockingCallFromThread

from config.builds.stored_results import VIEW
from config.web.auth import may_read_with_cookies
from config.web.test_views import queries

NAME = VIEW.rsplit("/", 1)[-1]
AT_ONCE = 3
"""The most requests the view answers at once (each holds a thread of Twisted's pool)."""
HERE = Path(__file__).parent
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def make_app() -> Flask:
    """The Flask app; the plugin gives it ``buildbot_api`` (its master) when it mounts it."""
    app = Flask(
        __name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static")
    )
    app.jinja_env.autoescape = True
    app.jinja_env.globals.update(ui=lambda path="": f"{master().config.buildbotURL}#/{path}")
    app.jinja_env.globals.update(status_name=status_name)

    def master() -> Any:
        return app.buildbot_api.master  # type: ignore[attr-defined]

    def in_reactor(read: Callable[..., Any], *args: Any) -> Any:
        return blockingCallFromThread(reactor, read, master().data, *args)

    answering = app.extensions["answering"] = threading.BoundedSemaphore(AT_ONCE)

    @app.before_request
    def few_at_once() -> Any:
        g.answering = answering.acquire(blocking=False)
        if not g.answering:
            return Response("Busy: try again.\n", 503, mimetype="text/plain")
        return None

    @app.teardown_request
    def done(_: BaseException | None) -> None:
        if g.pop("answering", False):
            answering.release()

    @app.before_request
    def readers_only() -> Any:
        cookies = request.headers.get("Cookie", "")
        secure = request.scheme == "https"
        check: Callable[..., Any] = may_read_with_cookies
        if not blockingCallFromThread(reactor, check, master(), cookies, secure):
            return Response("Log in to read this.\n", 403, mimetype="text/plain")
        return None

    @app.after_request
    def guarded(response: Response) -> Response:
        response.headers.update(HEADERS)
        return response

    @app.route("/index.html")
    def overview() -> str:
        return render_template("index.html", recent=in_reactor(queries.recent_builds))

    @app.route("/build/<int:buildid>")
    def build(buildid: int) -> str:
        found = in_reactor(queries.build_results, buildid)
        if found is None:
            abort(404)
        return render_template("build.html", found=found)

    @app.route("/history/<int:builderid>")
    def history(builderid: int) -> str:
        test = request.args.get("test", "")
        found = in_reactor(queries.history, builderid, test) if test else None
        if found is None:
            abort(404)
        return render_template("history.html", found=found)

    return app


def status_name(results: int | None) -> str:
    """A build's result as the UI names it; ``running`` for none yet."""
    return "running" if results is None else str(statusToString(results))


def dashboard() -> dict[str, Any]:
    """The view, as an entry of the ``wsgi_dashboards`` plugin's configuration."""
    return {"name": NAME, "caption": "Test results", "app": make_app(), "order": 20, "icon": "vial"}
