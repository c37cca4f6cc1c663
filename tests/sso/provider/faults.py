"""Mistakes the provider makes on purpose when faults.json asks for them, so the engine's refusals are
tested against tokens this real provider signs with its real key:

- {"aud": "other-app"}: the ID token names another client as its audience (signed properly);
- {"expired": true}: the ID token expired an hour ago (signed properly);
- {"forge": true}: the token endpoint's ID token has its payload changed after signing (bad signature);
- {"amr": ["pwd", "mfa"]}: the authentication methods the token reports (multi-factor or not).
"""

import base64
import json
import time

from django.http import HttpResponse
from oidc_provider.views import TokenView

from .people import faults


def id_token_hook(id_token, **kwargs):
    wanted = faults()
    if "aud" in wanted:
        id_token["aud"] = wanted["aud"]
    if wanted.get("expired"):
        id_token["iat"] = int(time.time()) - 7200
        id_token["exp"] = int(time.time()) - 3600
    if "amr" in wanted:
        id_token["amr"] = wanted["amr"]
    return id_token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def forge(token: str) -> str:
    """The same signature over a changed payload (another employee id): what a forger would send."""
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    claims["employee_id"] = "FORGED-1"
    return ".".join([header, _b64(json.dumps(claims).encode()), signature])


class TokenWithFaultsView(TokenView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200 and faults().get("forge"):
            body = json.loads(response.content)
            body["id_token"] = forge(body["id_token"])
            response = HttpResponse(json.dumps(body), content_type="application/json")
        return response
