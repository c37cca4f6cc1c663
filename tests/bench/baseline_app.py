"""The benchmark baseline (DESIGN.md, Performance): a bare Django WSGI app, no middleware, one view.

PUT /api/v1/attempts/<attempt>/answers/<question>/ with `Authorization: Token <key>` and a JSON body:
one indexed SELECT checks the token (knox_authtoken by its token_key prefix, then a constant-time
compare of the SHA-512 digest and the expiry, as the real app does), one `INSERT ... ON CONFLICT`
upserts the answer. Served like the real app: gunicorn gthread, 2 workers x 4 threads, a pool of 4.

    DJANGO_SETTINGS_MODULE=tests.bench.baseline_settings gunicorn tests.bench.baseline_app:application

run_bench.py creates the table (`python -m tests.bench.baseline_app create-table`) in the bench
database, next to the real app's tables; the tokens are the real app's knox rows.
"""

import hashlib
import hmac
import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.bench.baseline_settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

TABLE_SQL = """
CREATE TABLE IF NOT EXISTS bench_baseline_answer (
    attempt_id bigint NOT NULL,
    question_id bigint NOT NULL,
    user_id bigint NOT NULL,
    response jsonb NOT NULL,
    saved_at timestamptz NOT NULL,
    PRIMARY KEY (attempt_id, question_id)
)
"""
TOKEN_SQL = "SELECT user_id, digest FROM knox_authtoken WHERE token_key = %s AND expiry > now()"
UPSERT_SQL = """
INSERT INTO bench_baseline_answer (attempt_id, question_id, user_id, response, saved_at)
VALUES (%s, %s, %s, %s::jsonb, now())
ON CONFLICT (attempt_id, question_id)
DO UPDATE SET response = EXCLUDED.response, saved_at = EXCLUDED.saved_at, user_id = EXCLUDED.user_id
RETURNING saved_at
"""


def save_answer(request, attempt_id: int, question_id: int):
    if request.method != "PUT":
        return JsonResponse({"detail": "Method not allowed."}, status=405)
    scheme, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme != "Token" or not key:
        return JsonResponse({"detail": "Authentication required."}, status=401)
    try:
        body = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "Malformed JSON."}, status=400)
    if not isinstance(body, dict):
        return JsonResponse({"detail": "Expected an object."}, status=400)
    with connection.cursor() as cursor:
        cursor.execute(TOKEN_SQL, [key[:15]])
        digest = hashlib.sha512(key.encode()).hexdigest()
        user_id = next(
            (uid for uid, stored in cursor.fetchall() if hmac.compare_digest(stored, digest)), None
        )
        if user_id is None:
            return JsonResponse({"detail": "Invalid token."}, status=401)
        cursor.execute(UPSERT_SQL, [attempt_id, question_id, user_id, json.dumps(body)])
        (saved_at,) = cursor.fetchone()
    return JsonResponse({"question_id": question_id, "saved_at": saved_at})


def ping(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("api/v1/attempts/<int:attempt_id>/answers/<int:question_id>/", save_answer),
    path("ping", ping),
]

application = get_wsgi_application()


if __name__ == "__main__":  # python -m tests.bench.baseline_app create-table
    import sys

    if sys.argv[1:] != ["create-table"]:
        sys.exit("usage: python -m tests.bench.baseline_app create-table")
    with connection.cursor() as cursor:
        cursor.execute(TABLE_SQL)
