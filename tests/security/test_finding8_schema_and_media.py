"""Finding 8 (schema, uploads): /api/schema/ and /api/docs/ were public, and with debug on /media/
served answer exports and certificate PDFs to anyone who guessed their predictable names. Now the
schema and docs need a login unless API_DOCS_PUBLIC opens them; MEDIA_URL is never served (not even
with DEBUG) and every upload is saved under a random directory."""

import importlib
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client, override_settings
from django.urls import Resolver404, clear_url_caches, resolve
from rest_framework.test import APIClient

from accounts.tokens import issue_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_finding8_schema_needs_a_login():
    assert APIClient().get("/api/schema/").status_code in (401, 403)
    docs = Client().get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/accounts/login/")
    token = issue_token(UserFactory())[1]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/schema/").status_code == 200
    client = Client()
    client.force_login(UserFactory())
    page = client.get("/api/docs/")
    assert page.status_code == 200 and b"<style>" not in page.content and b"<script>" not in page.content
    assert client.get("/api/docs/?script=").status_code == 200  # Swagger UI's start-up script, as a file


@override_settings(API_DOCS_PUBLIC=True)
def test_finding8_schema_can_be_opened_by_a_setting():
    assert APIClient().get("/api/schema/").status_code == 200
    assert Client().get("/api/docs/").status_code == 200


def test_finding8_uploads_get_unguessable_names():
    names = [default_storage.save("certificates/2026/SUS-000001.pdf", ContentFile(b"%PDF")) for _ in range(2)]
    try:
        for name in names:
            assert re.fullmatch(r"certificates/2026/[A-Za-z0-9_-]{22}/SUS-000001\.pdf", name), name
        assert names[0] != names[1]
        with pytest.raises(ValueError):
            default_storage.url(names[0])
    finally:
        for name in names:
            default_storage.delete(name)


def test_finding8_media_is_not_served_even_with_debug():
    import elearn.urls

    name = default_storage.save("exports/2026/01/answers-20260101-1.csv", ContentFile(b"secret,answers\n"))
    try:
        with override_settings(DEBUG=True):
            importlib.reload(elearn.urls)
            clear_url_caches()
            with pytest.raises(Resolver404):
                resolve(f"/media/{name}")
            assert Client().get(f"/media/{name}").status_code == 404
    finally:
        importlib.reload(elearn.urls)
        clear_url_caches()
        default_storage.delete(name)


def test_finding8_certificate_pdf_has_an_unguessable_name_and_only_its_owner_gets_it():
    from courses.certificates.services import issue_certificate, render_certificate_pdf
    from tests.certificate_helpers import completed_enrollment, make_course

    owner, stranger = UserFactory(), UserFactory()
    enrollment = completed_enrollment(owner, make_course())
    issued = issue_certificate(enrollment_id=enrollment.pk).certificate
    certificate = render_certificate_pdf(certificate_id=issued.pk)  # a task, after commit, in production
    assert certificate.pdf.name, "the PDF was stored"
    assert re.fullmatch(r"certificates/\d{4}/[A-Za-z0-9_-]{22}/[A-Z]+-\d{4}-\d+\.pdf", certificate.pdf.name)
    url = f"/certificates/{certificate.pk}/pdf/"
    client = Client()
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert Client().get(f"/media/{certificate.pdf.name}").status_code == 404
