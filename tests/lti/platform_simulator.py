"""An LTI 1.3 platform (an LMS) for the tests, run as its own process on loopback:
`python -m tests.lti.platform_simulator --port N`.

It signs launches with its own RSA key and serves what a real platform serves: its JWKS (/jwks), the
OIDC authentication endpoint (/auth: answers the tool's login redirect with the auto-posting id_token
form), the OAuth2 token endpoint (/token: client-credentials grant with a JWT client assertion it checks
against the tool's public keys), AGS line items and scores (/lineitems..., /scores) and the NRPS
membership container (/memberships/<context>, two pages). The deep-linking return URL
(/deep_link_return) checks the tool's signed response.

Test control, under /sim/: `POST /sim/setup` (the tool's JWKS, client id, deployment id, launch URL),
`POST /sim/launches` (the message the next login hint stands for; returns the hint), `GET /sim/start`
(the LMS page that starts a launch in a browser), `GET /sim/state` (scores, line items, deep-link
responses, token requests), `POST /sim/tool-keys` (the tool's keyset fetched again), `POST /sim/fail`
(answer the next N score posts with 503). Standard library plus PyJWT and cryptography, both in requirements.lock."""

import argparse
import json
import os
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
KID = "simulator-key-1"


class Platform:
    def __init__(self, base_url: str):
        self.base = base_url
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.setup = {}
        self.launches = {}
        self.tokens = {}
        self.jtis = set()
        self.lineitems = {}
        self.scores = []
        self.deep_link_responses = []
        self.token_requests = []
        self.fail_scores = 0
        self.members = {}

    # --- keys -----------------------------------------------------------------------------------------
    def jwks(self):
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}

    def tool_key(self, token: str):
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self.setup.get("tool_jwks", {}).get("keys", []):
            if key.get("kid") == kid:
                return RSAAlgorithm.from_jwk(json.dumps(key))
        raise ValueError(f"unknown tool key id {kid!r}")

    # --- launches -------------------------------------------------------------------------------------
    def id_token(self, message: dict, *, nonce: str) -> str:
        now = int(time.time())
        setup = self.setup
        body = {
            "iss": message.get("iss", self.base),
            "aud": message.get("aud", setup["client_id"]),
            "sub": message["sub"],
            "iat": now + message.get("iat_offset", 0),
            "exp": now + message.get("exp_offset", 300),
            "nonce": nonce,
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": message.get("deployment_id", setup["deployment_id"]),
            CLAIM + "message_type": message.get("message_type", "LtiResourceLinkRequest"),
            CLAIM + "roles": message.get(
                "roles", ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
            ),
            CLAIM + "context": {"id": message.get("context", "course-7"), "title": "Staff onboarding"},
            CLAIM + "target_link_uri": message.get("target_link_uri", setup["launch_url"]),
        }
        for claim in ("email", "given_name", "family_name", "name"):
            if message.get(claim):
                body[claim] = message[claim]
        if body[CLAIM + "message_type"] == "LtiResourceLinkRequest":
            link_id = message.get("resource_link_id", "link-1")
            body[CLAIM + "resource_link"] = {"id": link_id, "title": message.get("title", "Linked training")}
            body[CLAIM + "custom"] = message.get("custom", {})
            ags = {"scope": [SCORE_SCOPE, LINEITEM_SCOPE], "lineitems": f"{self.base}/lineitems"}
            if message.get("lineitem"):
                ags["lineitem"] = f"{self.base}/lineitems/{message['lineitem']}"
            body["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = ags
            body["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] = {
                "context_memberships_url": f"{self.base}/memberships/{body[CLAIM + 'context']['id']}",
                "service_versions": ["2.0"],
            }
        else:
            body["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": f"{self.base}/deep_link_return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": False,
                "data": "opaque-platform-data",
            }
        key = message.get("signing_key_pem", self.private_pem)
        return jwt.encode(body, key, algorithm="RS256", headers={"kid": KID})

    def authenticate(self, params: dict) -> tuple[int, str]:
        """The OIDC authentication request: checks it, answers with the auto-posting form."""
        setup = self.setup
        for name, expected in (
            ("scope", "openid"),
            ("response_type", "id_token"),
            ("response_mode", "form_post"),
        ):
            if params.get(name) != expected:
                return 400, f"bad {name}"
        if params.get("client_id") != setup.get("client_id"):
            return 400, "unknown client_id"
        if params.get("redirect_uri") != setup.get("launch_url"):
            return 400, f"redirect_uri not registered: {params.get('redirect_uri')}"
        if not params.get("nonce") or not params.get("state"):
            return 400, "nonce and state required"
        message = self.launches.get(params.get("lti_message_hint", ""))
        if message is None or message["sub"] != params.get("login_hint"):
            return 400, "unknown login or message hint"
        token = self.id_token(message, nonce=params["nonce"])
        html = (
            f'<form id="post" method="post" action="{setup["launch_url"]}">'
            f'<input type="hidden" name="id_token" value="{token}">'
            f'<input type="hidden" name="state" value="{params["state"]}"></form>'
            "<script>document.getElementById('post').submit();</script>"
        )
        return 200, html

    def start_page(self, hint: str) -> str:
        """What the LMS page does when a person clicks the tool's link: third-party login initiation."""
        message = self.launches[hint]
        fields = {
            "iss": self.base,
            "login_hint": message["sub"],
            "lti_message_hint": hint,
            "client_id": self.setup["client_id"],
            "target_link_uri": self.setup["launch_url"],
        }
        inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
        return (
            f'<form id="start" method="post" action="{self.setup["login_url"]}">{inputs}</form>'
            "<script>document.getElementById('start').submit();</script>"
        )

    # --- services -------------------------------------------------------------------------------------
    def issue_token(self, form: dict) -> tuple[int, dict]:
        self.token_requests.append({k: v for k, v in form.items() if k != "client_assertion"})
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return 400, {"error": "invalid_request"}
        assertion = form.get("client_assertion", "")
        try:
            claims = jwt.decode(
                assertion, self.tool_key(assertion), algorithms=["RS256"], audience=f"{self.base}/token"
            )
        except (jwt.InvalidTokenError, ValueError) as exc:
            return 401, {"error": "invalid_client", "error_description": str(exc)}
        client_id = self.setup.get("client_id")
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return 401, {"error": "invalid_client"}
        if claims.get("jti") in self.jtis:
            return 401, {"error": "invalid_client", "error_description": "jti reused"}
        self.jtis.add(claims.get("jti"))
        token = secrets.token_urlsafe(24)
        self.tokens[token] = set(form.get("scope", "").split())
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": form.get("scope"),
        }

    def authorised(self, headers, scope: str) -> bool:
        auth = headers.get("Authorization", "")
        return auth.startswith("Bearer ") and scope in self.tokens.get(auth[7:], set())

    def lineitem_url(self, item_id: str) -> str:
        return f"{self.base}/lineitems/{item_id}"


def make_handler(platform: Platform):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body, content_type="application/json", headers=None):
            data = (
                body
                if isinstance(body, bytes)
                else (json.dumps(body) if not isinstance(body, str) else body).encode()
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _form(self) -> dict:
            return {k: v[0] for k, v in parse_qs(self._body().decode()).items()}

        def do_GET(self):
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            with platform.lock:
                if url.path == "/jwks":
                    return self._send(200, platform.jwks())
                if url.path == "/auth":
                    status, html = platform.authenticate(query)
                    return self._send(status, html, "text/html")
                if url.path == "/sim/start":
                    return self._send(200, platform.start_page(query["hint"]), "text/html")
                if url.path == "/sim/state":
                    return self._send(
                        200,
                        {
                            "scores": platform.scores,
                            "lineitems": platform.lineitems,
                            "deep_link_responses": platform.deep_link_responses,
                            "token_requests": platform.token_requests,
                        },
                    )
                if url.path == "/lineitems":
                    if not platform.authorised(self.headers, LINEITEM_SCOPE):
                        return self._send(401, {"error": "unauthorized"})
                    items = [
                        {**item, "id": platform.lineitem_url(item_id)}
                        for item_id, item in platform.lineitems.items()
                        if not query.get("resource_link_id")
                        or item.get("resourceLinkId") == query["resource_link_id"]
                    ]
                    return self._send(200, items, "application/vnd.ims.lis.v2.lineitemcontainer+json")
                if url.path.startswith("/memberships/"):
                    if not platform.authorised(self.headers, NRPS_SCOPE):
                        return self._send(401, {"error": "unauthorized"})
                    context = url.path.rsplit("/", 1)[-1]
                    members = platform.members.get(context, [])
                    page = int(query.get("page", "1"))
                    half = (len(members) + 1) // 2
                    chunk = members[:half] if page == 1 else members[half:]
                    headers = {}
                    if page == 1 and len(members) > half:
                        headers["Link"] = f'<{platform.base}/memberships/{context}?page=2>; rel="next"'
                    return self._send(
                        200,
                        {"id": f"{platform.base}{url.path}", "context": {"id": context}, "members": chunk},
                        "application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
                        headers,
                    )
            return self._send(404, {"error": "not found"})

        def do_POST(self):
            url = urlsplit(self.path)
            with platform.lock:
                if url.path == "/sim/setup":
                    platform.reset()
                    platform.setup = json.loads(self._body())
                    platform.members = platform.setup.pop("members", {})
                    platform.lineitems = platform.setup.pop("lineitems", {})
                    return self._send(200, {"issuer": platform.base})
                if url.path == "/sim/tool-keys":  # the platform fetches the tool's keyset again
                    platform.setup["tool_jwks"] = json.loads(self._body())
                    return self._send(200, {})
                if url.path == "/sim/launches":
                    hint = "msg-" + uuid.uuid4().hex
                    platform.launches[hint] = json.loads(self._body())
                    return self._send(200, {"lti_message_hint": hint})
                if url.path == "/sim/fail":
                    platform.fail_scores = json.loads(self._body())["scores"]
                    return self._send(200, {})
                if url.path == "/token":
                    status, body = platform.issue_token(self._form())
                    return self._send(status, body)
                if url.path == "/deep_link_return":
                    token = self._form().get("JWT", "")
                    try:
                        claims = jwt.decode(
                            token, platform.tool_key(token), algorithms=["RS256"], audience=platform.base
                        )
                    except (jwt.InvalidTokenError, ValueError) as exc:
                        return self._send(400, f"bad deep-linking response: {exc}", "text/plain")
                    if claims.get("iss") != platform.setup["client_id"]:
                        return self._send(400, "wrong issuer", "text/plain")
                    platform.deep_link_responses.append(claims)
                    return self._send(200, "<p>Added.</p>", "text/html")
                if url.path == "/lineitems":
                    if not platform.authorised(self.headers, LINEITEM_SCOPE):
                        return self._send(401, {"error": "unauthorized"})
                    item = json.loads(self._body())
                    item_id = str(len(platform.lineitems) + 1)
                    platform.lineitems[item_id] = item
                    return self._send(
                        201,
                        {**item, "id": platform.lineitem_url(item_id)},
                        "application/vnd.ims.lis.v2.lineitem+json",
                    )
                if url.path.startswith("/lineitems/") and url.path.endswith("/scores"):
                    if not platform.authorised(self.headers, SCORE_SCOPE):
                        return self._send(401, {"error": "unauthorized"})
                    if self.headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
                        return self._send(415, {"error": "score media type expected"})
                    if platform.fail_scores > 0:
                        platform.fail_scores -= 1
                        return self._send(503, {"error": "try again"})
                    item_id = url.path.split("/")[2]
                    if item_id not in platform.lineitems:
                        return self._send(404, {"error": "no such line item"})
                    platform.scores.append({"lineitem": item_id, **json.loads(self._body())})
                    return self._send(204, b"")
            return self._send(404, {"error": "not found"})

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    platform = Platform(f"http://127.0.0.1:{args.port}")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(platform))
    parent = os.getppid()

    def exit_with_the_test_run():  # a killed pytest must not leave the simulator holding the port
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=exit_with_the_test_run, daemon=True).start()
    print(f"LTI platform simulator on {platform.base}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
