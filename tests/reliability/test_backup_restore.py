"""Backup and restore drill (README, "Backup and restore"): a populated database (the course loaded,
learners who completed it with certificates, one certificate revoked, an audit trail) is dumped with
pg_dump, restored with pg_restore into a fresh database, and the restored copy gives the same
transcripts for every user, the same records, a verifying audit chain ending on the same hash, and an
audit table that is still append-only. It all happens on the test run's throwaway PostgreSQL cluster
(fixture `postgres_server`), so the drill creates and drops nothing on the machine's server."""

import json
import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.db import connection

from courses.certificates import services as certificates
from courses.enrollment import services
from courses.models import Certificate, CourseEvaluation, Enrollment
from tests.course_helpers import complete_course, load_tiny
from tests.factories import UserFactory
from tests.reliability.drill import snapshot
from tests.reliability.harness import ROOT, unavailable

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    except FileNotFoundError as exc:
        unavailable(f"{cmd[0]} is not installed: {exc}")
    assert result.returncode == 0, f"{' '.join(cmd)}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result


def populate(tmp_path) -> None:
    tiny = load_tiny(tmp_path)  # 1.5 CE hours: certificates after the course evaluation
    learners = [UserFactory(username=f"drill-{i}", first_name=f"Learner{i}") for i in range(3)]
    for learner in learners:
        services.enroll(user=learner, course=tiny.course)
        complete_course(learner, tiny.version, tiny.specs)
        enrollment = Enrollment.objects.get(user=learner, course=tiny.course)
        certificates.submit_evaluation(
            user=learner, enrollment_id=enrollment.pk, ratings={"relevance": 5, "clarity": 4, "confidence": 5}
        )  # tasks run eagerly in tests: issue, render, email
    UserFactory(username="drill-unfinished")
    services.enroll(user=UserFactory(username="drill-started"), course=tiny.course)
    first = Certificate.objects.order_by("pk").first()
    admin = UserFactory(username="drill-admin", role="admin")
    certificates.revoke_certificate(certificate_id=first.pk, by=admin, reason="Issued to the wrong licence")
    assert Certificate.objects.count() == 3 and CourseEvaluation.objects.count() == 3


def test_a_dump_restored_into_a_fresh_database_gives_identical_transcripts_and_a_verifying_chain(
    tmp_path, settings, postgres_server
):
    server = f"postgres://postgres@127.0.0.1:{postgres_server.port}"
    port = str(postgres_server.port)
    settings.MEDIA_ROOT = tmp_path / "media"
    populate(tmp_path)
    before = snapshot()
    assert before["audit_chain"]["ok"] and before["counts"]["certificates"] == 3
    assert sum(len(rows) for rows in before["transcripts"].values()) == 4

    source = connection.settings_dict["NAME"]
    restored = f"{source}_restore_{uuid.uuid4().hex[:8]}"
    dump = tmp_path / "elearn.dump"
    connection.close()
    run(["pg_dump", "--format=custom", "--no-owner", "--file", str(dump), f"{server}/{source}"])
    run(["createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", restored])
    try:
        run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", f"{server}/{restored}", str(dump)])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))}
        env.update({"DJANGO_SETTINGS_MODULE": "elearn.settings.test", "DATABASE_URL": f"{server}/{restored}"})
        result = run([sys.executable, "-m", "tests.reliability.drill"], cwd=ROOT, env=env)
        after = json.loads(result.stdout.strip().splitlines()[-1])
        with psycopg.connect(f"{server}/{restored}", autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("UPDATE core_auditevent SET action = 'tampered'")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM core_auditevent")
    finally:
        run(["dropdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "--if-exists", "--force", restored])

    assert after["transcripts"] == before["transcripts"]
    assert after["counts"] == before["counts"]
    assert after["audit_chain"] == before["audit_chain"] and after["audit_chain"]["ok"]
    assert after["last_audit_hash"] == before["last_audit_hash"]
