"""Every API operation the schema says needs credentials refuses a request without them, with a wrong
token, and with a token of a deactivated account (and says nothing more than why); only the two public
operations answer anonymously."""

import re

import pytest
from rest_framework.test import APIClient

from tests.security.roles import make_org

pytestmark = pytest.mark.django_db

PUBLIC = {("post", "/api/v1/auth/token/"), ("get", "/api/v1/certificates/verify/{code}/")}


def operations(client) -> list[tuple[str, str, bool]]:
    schema = client.get("/api/schema/", {"format": "json"}).json()
    out = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            anonymous_allowed = {} in operation.get("security", [{}])
            out.append((method, path, anonymous_allowed))
    return out


def concrete(path: str, org) -> str:
    return re.sub(r"\{slug\}", org.tiny.course.slug, re.sub(r"\{(\w+_id|code)\}", "1", path))


def test_every_operation_but_the_public_ones_needs_credentials(tmp_path):
    org = make_org(tmp_path)
    reader = APIClient()  # the schema itself needs a login (finding 8)
    reader.credentials(HTTP_AUTHORIZATION=f"Token {org.tokens['learner']}")
    found = operations(reader)
    assert len(found) >= 15
    assert {(m, p) for m, p, anonymous in found if anonymous} == PUBLIC
    org.other.is_active = False
    org.other.save(update_fields=["is_active"])
    for method, path, anonymous in found:
        url = concrete(path, org)
        for credentials in (
            None,
            "Token not-a-real-token-0000000000000000000",
            f"Token {org.tokens['other']}",
        ):
            client = APIClient()
            if credentials:
                client.credentials(HTTP_AUTHORIZATION=credentials)
            response = getattr(client, method)(url, {}, format="json")
            if anonymous:
                assert response.status_code < 500, (method, url, response.status_code)
                if credentials is None:
                    assert response.status_code not in (401, 403), (method, url)
            else:
                # Reports answer 404 to anyone who may not see them, anonymous callers included.
                refused = (401, 403, 404) if "/reports/" in path else (401, 403)
                assert response.status_code in refused, (method, url, credentials, response.status_code)
                assert set(response.json()) <= {"detail", "code"}, response.json()
