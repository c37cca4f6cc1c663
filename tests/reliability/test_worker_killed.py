"""A Celery worker is killed with SIGKILL in the middle of rendering a certificate.

The worker (prefork, one child; acks_late) has issued and committed the certificate and is asleep inside
the rendering (slowed down by tests/reliability/slow_worker.py, in the test's worker only) when its whole
process group is killed: nothing acknowledges the message. With a short visibility timeout
(CELERY_VISIBILITY_TIMEOUT=5) Redis hands the message to a new worker, which finds the certificate
already issued, renders and emails it: exactly one certificate, one number, one audit event, one email.
"""

import os
import signal
import time
import uuid

import pytest
from django.db import connection

from core.models import AuditEvent
from courses.models import Certificate, CertificateSequence
from tests.certificate_helpers import completed_enrollment, make_course
from tests.factories import UserFactory
from tests.reliability.harness import (
    BROKER_DB,
    celery_worker,
    log_of,
    send,
    wait_for,
    worker_env,
)

pytestmark = [pytest.mark.reliability, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = 5  # seconds (CELERY_VISIBILITY_TIMEOUT of the workers, see harness.worker_env)


def test_worker_killed_mid_render_the_task_is_redelivered_and_one_certificate_exists(tmp_path, redis_server):
    (tmp_path / "mail").mkdir()
    queue = f"reliability-{uuid.uuid4().hex[:8]}"
    learner = UserFactory(first_name="Kim", last_name="Crash")
    enrollment = completed_enrollment(learner, make_course(slug="kill-test"))
    connection.close()  # the worker must not wait on a connection of ours
    marker = tmp_path / "rendering"
    env = worker_env(tmp_path, redis_server, visibility_timeout=VISIBILITY_TIMEOUT)

    with celery_worker(env, tmp_path, queue=queue, name="doomed", render_delay=60, marker=marker) as doomed:
        send("courses.tasks.issue_certificate_task", enrollment.pk, queue=queue, redis=redis_server)
        wait_for(lambda: marker.exists() or doomed.poll() is not None, timeout=90, what="rendering started")
        assert doomed.poll() is None, log_of(doomed)
        # Mid-render: issued and committed, not rendered, not emailed, not acknowledged.
        certificate = Certificate.objects.get(enrollment=enrollment)
        assert not certificate.pdf and certificate.notified_at is None
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=20)
        killed_at = time.monotonic()
        assert not Certificate.objects.get(pk=certificate.pk).pdf
        unacked = redis_server.client(BROKER_DB).hlen("unacked")
    assert unacked == 1, "the killed worker's message should be waiting, unacknowledged, in Redis"

    time.sleep(max(0.0, VISIBILITY_TIMEOUT + 1 - (time.monotonic() - killed_at)))
    with celery_worker(env, tmp_path, queue=queue, name="rescuer") as rescuer:
        wait_for(
            lambda: (
                Certificate.objects.filter(pk=certificate.pk)
                .exclude(pdf="")
                .exclude(notified_at=None)
                .exists()
                or rescuer.poll() is not None
            ),
            timeout=120,
            what="the redelivered task rendering and emailing the certificate",
        )
        assert rescuer.poll() is None, log_of(rescuer)
        rescuer_log = log_of(rescuer)

    assert "issue_certificate_task" in rescuer_log and "succeeded" in rescuer_log, rescuer_log
    assert Certificate.objects.filter(enrollment=enrollment).count() == 1
    certificate = Certificate.objects.get(enrollment=enrollment)
    assert certificate.pdf and certificate.pdf.size > 1000
    assert CertificateSequence.objects.get().last_number == 1
    assert AuditEvent.objects.filter(action="certificate.issued").count() == 1
    assert len(list((tmp_path / "mail").iterdir())) == 1
    assert redis_server.client(BROKER_DB).hlen("unacked") == 0
