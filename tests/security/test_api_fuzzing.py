"""schemathesis against the OpenAPI schema (/api/schema/), in process through WSGI on the throwaway test
database, with a token for each role: no 5xx, and every response conforms to the schema (status code,
content type, body schema, headers). Examples are capped (SCHEMATHESIS_MAX_EXAMPLES, default 8) so
the whole run stays well under three minutes."""

import json
import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from courses.scope import can_view_reports
from tests.security.roles import EVERY_ROLE, make_org_with_every_role

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))


def schema_document() -> dict:
    """What /api/schema/ serves, generated in process as its view does: the endpoint needs a login
    (finding 8) and no user exists while pytest collects. test_the_served_schema_is_the_fuzzed_one
    checks, with a token, that the endpoint serves exactly this."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(schema_document())
schema.app = get_wsgi_application()
schema.location = "/api/schema/"


@pytest.fixture
def org(tmp_path):
    # Like Django's test client: the start and end of a request must not close the test's connection
    # (and with it the transaction holding the test data).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield make_org_with_every_role(tmp_path)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize("role", EVERY_ROLE)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema_for_every_role(case, role, org):
    excluded = [
        # The check sends schemathesis' own made-up credentials next to our valid token, so a 200 is
        # expected; authentication is asserted on its own in test_api_authentication.py.
        schemathesis.checks.ignored_auth,
        # Schema-valid is not semantically valid: unknown course slugs in report filters and wrong
        # passwords at the token endpoint answer a documented 400 by design. (Undocumented codes
        # still fail through status_code_conformance, and any 5xx through not_a_server_error.)
        schemathesis.checks.positive_data_acceptance,
    ]
    if case.operation.path.startswith("/api/v1/reports/"):
        # An empty filter (`?department=`) means "no filter", as in the report pages' forms.
        excluded.append(schemathesis.checks.negative_data_rejection)
        if not can_view_reports(org.users[role]):
            # Reports answer 404 to whoever may not see them, whatever the method: no hint they exist.
            excluded.append(schemathesis.checks.unsupported_method)
    case.call_and_validate(headers={"Authorization": f"Token {org.tokens[role]}"}, excluded_checks=excluded)


def test_the_served_schema_is_the_fuzzed_one(org):
    from rest_framework.test import APIClient

    client = APIClient()
    assert client.get("/api/schema/", {"format": "json"}).status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {org.tokens['learner']}")
    served = client.get("/api/schema/", {"format": "json"})
    assert served.status_code == 200
    assert served.json() == schema_document()
