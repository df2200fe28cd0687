"""A local GitHub (Enterprise-shaped: ``/login/oauth/...`` and ``/api/graphql``) on
127.0.0.1 for the web UI's "Login with GitHub", answering as GitHub documents:

- ``GET /login/oauth/authorize``: the user the test says is signed in at GitHub
  (:attr:`FakeGitHub.signed_in`) grants access at once: a redirect to ``redirect_uri``
  with a one-time ``code`` and the ``state`` given;
- ``POST /login/oauth/access_token``: that code, with the app's client id and secret
  (basic auth or form fields), becomes an access token (JSON when asked for JSON,
  otherwise form-encoded, as GitHub answers);
- ``POST /api/graphql``: with ``Authorization: token <access token>`` (or ``bearer``),
  the ``viewer`` (login, name, email, organisations) and, per organisation, the teams
  whose members include the user.

And, for a GitHub App (:class:`App`), under ``/api/v3``:

- ``GET /repos/<owner>/<name>/installation`` and ``POST /app/installations/<id>/access_tokens``
  with ``Authorization: Bearer <JWT>``: the JWT must be RS256-signed with the app's key,
  name the app as its issuer and live at most ten minutes; a token is minted with its
  ``expires_at``, after which it is refused, for the ``repositories`` and ``permissions``
  asked (GitHub's defaults: all of the installation's, every permission);
- ``POST /repos/<owner>/<name>/statuses/<sha>`` with ``Authorization: token <installation
  token>``: recorded in :attr:`FakeGitHub.statuses` when the token is valid for that
  repository with ``statuses: write``, else 401 (no valid token) or 403 (not its scope).
  :meth:`FakeGitHub.allows` answers the same question for the git server of a test;
- ``POST /repos/<owner>/<name>/check-runs`` and ``PATCH .../check-runs/<id>`` with an
  installation token allowed ``checks: write`` there (a personal token is refused, as
  GitHub refuses anyone but an App): checked as GitHub documents the parameters (name and
  head_sha to create, a conclusion once completed, output's title and summary, at most 50
  annotations a request and 3 actions, else 422), annotations appended across updates;
  each accepted call is recorded in :attr:`FakeGitHub.check_run_calls` and the run's state
  kept in :attr:`FakeGitHub.check_runs`;
- ``GET /orgs/<org>/teams/<slug>/memberships/<login>`` with a token allowed
  ``members: read``: active for the people in that team, else 404.

Anything else, a wrong secret, a used code or an unknown token is refused as GitHub
refuses it. Each request is recorded.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt

from tests.loopback import LoopbackServer

TEAM_QUERY = re.compile(
    r'(\w+): organization\(login: "([^"]+)"\) \{\s*teams\(first: 100 userLogins: \["([^"]+)"\]\)'
)


@dataclass
class Person:
    login: str
    name: str
    orgs: dict[str, list[str]] = field(default_factory=dict)
    """Organisation -> the names of its teams the person is in."""


@dataclass
class App:
    app_id: int
    public_key: str
    """PEM of the app's public key: what GitHub checks JWTs with."""
    installations: dict[str, int]
    """Account (owner) -> installation id."""
    token_lifetime: float = 3600.0


class FakeGitHub(LoopbackServer):
    def __init__(
        self,
        client_id: str = "",
        client_secret: str = "",
        people: list[Person] | None = None,
        app: App | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.people = {person.login: person for person in people or []}
        self.app = app
        self.installation_tokens: dict[str, tuple[int, float]] = {}
        """Minted token -> (installation, when it expires)."""
        self.token_scopes: dict[str, tuple[frozenset[str] | None, dict[str, str]]] = {}
        """Minted token -> (the repository names it is for, None: all; its permissions)."""
        self.statuses: list[tuple[str, dict[str, Any]]] = []
        """Accepted statuses: (sha, body)."""
        self.check_runs: dict[int, dict[str, Any]] = {}
        """Check run id -> its state: the repository, the fields set, every annotation."""
        self.check_run_calls: list[tuple[str, int, dict[str, Any]]] = []
        """Accepted check run calls: (POST or PATCH, the run's id, the body)."""
        self.refused: list[str] = []
        """Why each refused App, status or check run call was refused."""
        self.signed_in: str | None = None
        self.codes: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        super().__init__(self._handler())

    # --- the endpoints ------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if query.get("client_id") != self.client_id or self.signed_in is None:
            return 404, {}, b"Not Found"
        code = secrets.token_hex(10)
        self.codes[code] = self.signed_in
        back = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        return 302, {"Location": f"{query['redirect_uri']}?{urlencode(back)}"}, b""

    def access_token(
        self, form: dict[str, str], basic: tuple[str, str] | None, accept: str
    ) -> tuple[int, dict[str, str], bytes]:
        client = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        login = self.codes.pop(form.get("code", ""), None)
        if client != (self.client_id, self.client_secret):
            answer = {"error": "incorrect_client_credentials"}
        elif login is None:
            answer = {"error": "bad_verification_code"}
        else:
            token = "gho_" + secrets.token_hex(16)
            self.tokens[token] = login
            answer = {"access_token": token, "token_type": "bearer", "scope": "read:org,user:email"}
        if "json" in accept:
            return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()
        return (
            200,
            {"Content-Type": "application/x-www-form-urlencoded"},
            urlencode(answer).encode(),
        )

    def graphql(self, token: str, query: str) -> tuple[int, dict[str, str], bytes]:
        login = self.tokens.get(token)
        if login is None:
            body = {"message": "Bad credentials"}
            return 401, {"Content-Type": "application/json"}, json.dumps(body).encode()
        person = self.people[login]
        data: dict[str, Any] = {}
        if "viewer" in query:
            data["viewer"] = {
                "login": person.login,
                "name": person.name,
                "email": f"{person.login}@example.com",
                "organizations": {"edges": [{"node": {"login": org}} for org in person.orgs]},
            }
        for alias, org, user in TEAM_QUERY.findall(query):
            teams = self.people[user].orgs.get(org, []) if user in self.people else []
            edges = [{"node": {"name": t, "slug": t.lower().replace(" ", "-")}} for t in teams]
            data[alias] = {"teams": {"edges": edges}}
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": data}).encode()

    # --- the App endpoints ----------------------------------------------------------

    def valid_installation_token(self, token: str) -> bool:
        """Whether ``token`` is an installation token this GitHub minted and still honours."""
        known = self.installation_tokens.get(token)
        return known is not None and known[1] > time.time()

    def allows(self, token: str, repository: str, permission: str, level: str) -> bool:
        """Whether ``token`` may ``level`` (read or write) ``permission`` on ``repository``
        (``owner/name``), as GitHub checks an installation token's scope."""
        if not self.valid_installation_token(token):
            return False
        names, permissions = self.token_scopes[token]
        granted = permissions.get(permission) if permissions else "write"
        in_scope = names is None or repository.split("/")[-1] in names
        return in_scope and granted in ({"read", "write"} if level == "read" else {"write"})

    def _app_refusal(self, authorization: str) -> str | None:
        """Why a call with this ``Authorization`` is not the App's, or None."""
        if self.app is None or not authorization.startswith("Bearer "):
            return "no app JWT"
        try:
            claims = jwt.decode(authorization[7:], self.app.public_key, algorithms=["RS256"])
        except jwt.PyJWTError as error:
            return f"bad JWT: {error}"
        if str(claims.get("iss")) != str(self.app.app_id):
            return "JWT of another app"
        if claims["exp"] - claims["iat"] > 600:
            return "JWT lives too long"
        return None

    def app_call(
        self, method: str, path: str, authorization: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        def answer(status: int, data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
            return status, {"Content-Type": "application/json"}, json.dumps(data).encode()

        if status := re.fullmatch(r"/repos/([^/]+)/([^/]+)/statuses/(\w+)", path):
            token = authorization.removeprefix("token ").removeprefix("Bearer ")
            if method != "POST" or not self.valid_installation_token(token):
                known = token in self.installation_tokens
                self.refused.append(f"status with {'an expired' if known else 'no valid'} token")
                return answer(401, {"message": "Bad credentials"})
            if not self.allows(token, f"{status[1]}/{status[2]}", "statuses", "write"):
                self.refused.append("status with a token of another scope")
                return answer(403, {"message": "Resource not accessible by integration"})
            self.statuses.append((status[3], body))
            return answer(201, {"state": body.get("state")})
        if found := re.fullmatch(r"/repos/([^/]+)/([^/]+)/check-runs(?:/(\d+))?", path):
            token = authorization.removeprefix("token ").removeprefix("Bearer ")
            repository = f"{found[1]}/{found[2]}"
            if not self.allows(token, repository, "checks", "write"):
                self.refused.append("check run without an installation token of checks: write")
                return answer(403, {"message": "Resource not accessible by integration"})
            return answer(*self.check_run(method, repository, found[3], body))
        if found := re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)", path):
            token = authorization.removeprefix("token ").removeprefix("Bearer ")
            _, permissions = self.token_scopes.get(token, (None, {}))
            if not self.valid_installation_token(token) or permissions.get("members") is None:
                self.refused.append("team membership without members: read")
                return answer(403, {"message": "Resource not accessible by integration"})
            person = self.people.get(found[3])
            teams = person.orgs.get(found[1], []) if person else []
            if found[2] not in [t.lower().replace(" ", "-") for t in teams]:
                return answer(404, {"message": "Not Found"})
            return answer(200, {"state": "active", "role": "member"})
        refusal = self._app_refusal(authorization)
        if refusal is not None:
            self.refused.append(refusal)
            return answer(401, {"message": "A JSON web token could not be decoded"})
        assert self.app is not None
        if found := re.fullmatch(r"/repos/([^/]+)/([^/]+)/installation", path):
            installation = self.app.installations.get(found[1])
            if installation is None:
                return answer(404, {"message": "Not Found"})
            return answer(200, {"id": installation, "account": {"login": found[1]}})
        if found := re.fullmatch(r"/app/installations/(\d+)/access_tokens", path):
            if method != "POST" or int(found[1]) not in self.app.installations.values():
                return answer(404, {"message": "Not Found"})
            token = "ghs_" + secrets.token_hex(16)
            expires = time.time() + self.app.token_lifetime
            self.installation_tokens[token] = (int(found[1]), expires)
            names = body.get("repositories")
            self.token_scopes[token] = (
                frozenset(names) if names is not None else None,
                dict(body.get("permissions") or {}),
            )
            stamp = datetime.datetime.fromtimestamp(expires, datetime.UTC)
            return answer(201, {"token": token, "expires_at": stamp.isoformat()})
        return answer(404, {"message": "Not Found"})

    def check_run(
        self, method: str, repository: str, run: str | None, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """Creates (POST, no ``run``) or updates (PATCH) a check run as GitHub does."""
        if (method == "POST") != (run is None):
            return 404, {"message": "Not Found"}
        if run is not None and self.check_runs.get(int(run), {}).get("repository") != repository:
            return 404, {"message": "Not Found"}
        state = self.check_runs.get(int(run)) if run is not None else None
        problem = check_run_problem(body, created=state is None)
        merged = {**(state or {}), **body}
        if problem is None and merged.get("status") == "completed" and not merged.get("conclusion"):
            problem = "conclusion is required when status is completed"
        if problem is not None:
            self.refused.append(f"check run: {problem}")
            return 422, {"message": "Validation Failed", "errors": [problem]}
        number = int(run) if run is not None else len(self.check_runs) + 1
        annotations = [
            *(state or {}).get("annotations", []),
            *(body.get("output") or {}).get("annotations", []),
        ]
        if body.get("conclusion"):
            merged["status"] = "completed"
        self.check_runs[number] = {**merged, "repository": repository, "annotations": annotations}
        self.check_run_calls.append((method, number, body))
        data = {
            "id": number,
            "name": merged["name"],
            "head_sha": merged["head_sha"],
            "status": merged.get("status", "queued"),
            "conclusion": merged.get("conclusion"),
            "output": {**(merged.get("output") or {}), "annotations_count": len(annotations)},
        }
        return 201 if run is None else 200, data

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        github = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                github.requests.append(("GET", parts.path))
                if parts.path == "/login/oauth/authorize":
                    self.answer(*github.authorize(dict(parse_qsl(parts.query))))
                elif parts.path.startswith("/api/v3/"):
                    self.answer(*github.app_call("GET", parts.path[7:], self.auth(), {}))
                else:
                    self.answer(404, {}, b"Not Found")

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                github.requests.append(("POST", parts.path))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if parts.path == "/login/oauth/access_token":
                    form = dict(parse_qsl(body))
                    self.answer(
                        *github.access_token(form, self.basic(), self.headers.get("Accept", ""))
                    )
                elif parts.path.startswith("/api/v3/"):
                    data = json.loads(body or "{}")
                    self.answer(*github.app_call("POST", parts.path[7:], self.auth(), data))
                elif parts.path == "/api/graphql":
                    token = self.headers.get("Authorization", "").split(" ", 1)[-1]
                    self.answer(*github.graphql(token, json.loads(body or "{}").get("query", "")))
                else:
                    self.answer(404, {}, b"Not Found")

            def do_PATCH(self) -> None:
                parts = urlsplit(self.path)
                github.requests.append(("PATCH", parts.path))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if parts.path.startswith("/api/v3/"):
                    data = json.loads(body or "{}")
                    self.answer(*github.app_call("PATCH", parts.path[7:], self.auth(), data))
                else:
                    self.answer(404, {}, b"Not Found")

            def auth(self) -> str:
                return self.headers.get("Authorization", "")

            def basic(self) -> tuple[str, str] | None:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return None
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                return user, password

            def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        return Handler


STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
)
LEVELS = ("notice", "warning", "failure")


def check_run_problem(body: dict[str, Any], created: bool) -> str | None:
    """Why GitHub would refuse this check run body (422), or None."""
    if created and not (body.get("name") and body.get("head_sha")):
        return "name and head_sha are required"
    if "status" in body and body["status"] not in STATUSES:
        return f"status {body['status']!r} is not one of {STATUSES}"
    if body.get("conclusion") is not None and body["conclusion"] not in CONCLUSIONS:
        return f"conclusion {body['conclusion']!r} is not one of {CONCLUSIONS}"
    output = body.get("output")
    if output is not None:
        if not (isinstance(output.get("title"), str) and isinstance(output.get("summary"), str)):
            return "output needs a title and a summary"
        if len(output["summary"]) > 65535:
            return "output.summary is over 65535 characters"
        annotations = output.get("annotations") or []
        if len(annotations) > 50:
            return "at most 50 annotations a request"
        for annotation in annotations:
            needed = ("path", "start_line", "end_line", "annotation_level", "message")
            if any(annotation.get(key) in (None, "") for key in needed):
                return f"an annotation needs {', '.join(needed)}"
            if annotation["annotation_level"] not in LEVELS:
                return f"annotation_level {annotation['annotation_level']!r} is not one of {LEVELS}"
    actions = body.get("actions") or []
    if len(actions) > 3:
        return "at most 3 actions"
    for action in actions:
        limits = {"label": 20, "description": 40, "identifier": 20}
        if any(not 0 < len(str(action.get(k) or "")) <= n for k, n in limits.items()):
            return "an action's label, description and identifier are 1-20, 1-40, 1-20 characters"
    return None
