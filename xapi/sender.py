"""Send pending outbox rows to the LRS in batches (xAPI `POST statements`), oldest first.

- A batch the LRS accepts (200, or 204 when it already held every statement) is marked sent.
- A batch it refuses as a whole (400/422 invalid, 409 conflicting id, 413 too large) is split: each
  statement is sent alone, so one bad statement is set aside (status `rejected`, with the LRS's answer)
  and never blocks the others.
- Anything else (connection refused, timeout, 5xx, 401/403, 429) leaves the rows pending and opens a
  circuit: no sender tries again before a backoff (doubling up to XAPI_RETRY_MAX_SECONDS) has passed,
  so an LRS down for hours gets one request per window, not one per event.

Rows are claimed FOR UPDATE SKIP LOCKED for the length of one request, so two workers never send the
same batch at once. A worker killed after the LRS stored a batch but before marking it leaves the rows
pending; the next send repeats them with the same ids, and the LRS keeps one copy (xAPI: a statement
whose id it already holds with equal content is not stored again).
"""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import config
from .models import OutboxStatement

logger = logging.getLogger(__name__)

CIRCUIT_KEY = "xapi:lrs-unavailable-until"
FAILURES_KEY = "xapi:lrs-consecutive-failures"
# 422: what Ralph (FastAPI) answers for an invalid statement where the spec says 400.
SPLIT_STATUSES = {400, 409, 413, 422}


@dataclass
class SendReport:
    sent: int = 0
    rejected: int = 0
    failed: bool = False  # the LRS could not be reached or answered an error worth retrying
    waiting: bool = False  # the circuit was open: nothing was tried
    remaining: bool = False  # more pending rows than this run's batches
    error: str = ""


class Unavailable(Exception):
    pass


def _post(session: requests.Session, cfg: config.XapiConfig, payloads: list[dict]) -> requests.Response:
    try:
        return session.post(
            cfg.statements_url,
            json=payloads,
            headers={"X-Experience-API-Version": "1.0.3"},
            auth=(cfg.username, cfg.password) if cfg.username else None,
            timeout=cfg.timeout_seconds,
        )
    except requests.RequestException as exc:
        raise Unavailable(f"{type(exc).__name__}: {exc}") from exc


def _answer(response: requests.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:500]}"


def _mark(rows, *, status: str, now: datetime, error: str = "") -> None:
    OutboxStatement.objects.filter(pk__in=[r.pk for r in rows]).update(
        status=status,
        sent_at=now if status == OutboxStatement.Status.SENT else None,
        send_attempts=F("send_attempts") + 1,
        last_error=error,
    )


def _deliver(session, cfg, rows, *, now: datetime) -> SendReport:
    report = SendReport()
    response = _post(session, cfg, [r.payload for r in rows])
    if response.status_code in (200, 204):
        _mark(rows, status=OutboxStatement.Status.SENT, now=now)
        report.sent = len(rows)
        return report
    if response.status_code not in SPLIT_STATUSES:
        raise Unavailable(_answer(response))
    if len(rows) == 1:
        logger.error("LRS refused xAPI statement %s: %s", rows[0].statement_id, _answer(response))
        _mark(rows, status=OutboxStatement.Status.REJECTED, now=now, error=_answer(response))
        report.rejected = 1
        return report
    for row in rows:  # find the statement(s) the LRS refuses; the rest go through
        single = _deliver(session, cfg, [row], now=now)
        report.sent += single.sent
        report.rejected += single.rejected
    return report


def _backoff_seconds(failures: int) -> float:
    base = settings.XAPI_RETRY_BASE_SECONDS * (2 ** min(failures, 16))
    return min(settings.XAPI_RETRY_MAX_SECONDS, base) * random.uniform(0.8, 1.0)  # noqa: S311 - jitter


def seconds_until_retry(now: datetime | None = None) -> float:
    """How long until the circuit closes: the countdown of the sending task's own retry."""
    until = cache.get(CIRCUIT_KEY)
    if until is None:
        return settings.XAPI_RETRY_BASE_SECONDS
    return max(until - (now or timezone.now()).timestamp(), 0) + 0.5


def _open_circuit(now: datetime, error: str) -> None:
    failures = cache.get(FAILURES_KEY, 0) + 1
    until = now + timedelta(seconds=_backoff_seconds(failures - 1))
    cache.set(FAILURES_KEY, failures, timeout=None)
    cache.set(CIRCUIT_KEY, until.timestamp(), timeout=int(settings.XAPI_RETRY_MAX_SECONDS) + 60)
    logger.warning("LRS unavailable (%s failures in a row), next try after %s: %s", failures, until, error)


def _close_circuit() -> None:
    cache.delete_many([CIRCUIT_KEY, FAILURES_KEY])


def send_pending(*, now: datetime | None = None, max_batches: int = 20, force: bool = False) -> SendReport:
    """Send up to `max_batches` batches of pending statements. Never raises for an LRS problem.
    `force` (an operator's `manage.py xapi_outbox --send`) tries even while the circuit is open."""
    total = SendReport()
    if not config.enabled():
        return total
    now = now or timezone.now()
    until = cache.get(CIRCUIT_KEY)
    if not force and until is not None and now.timestamp() < until:
        total.waiting = True
        return total
    cfg = config.current()
    with requests.Session() as session:
        for _ in range(max_batches):
            with transaction.atomic():
                rows = list(
                    OutboxStatement.objects.select_for_update(skip_locked=True)
                    .filter(status=OutboxStatement.Status.PENDING)
                    .order_by("pk")
                    .only("pk", "statement_id", "payload")[: cfg.batch_size]
                )
                if not rows:
                    break
                try:
                    report = _deliver(session, cfg, rows, now=now)
                except Unavailable as exc:
                    OutboxStatement.objects.filter(pk__in=[r.pk for r in rows]).update(
                        send_attempts=F("send_attempts") + 1, last_error=str(exc)[:2000]
                    )
                    total.failed, total.error = True, str(exc)
            if total.failed:
                _open_circuit(now, total.error)
                return total
            total.sent += report.sent
            total.rejected += report.rejected
        else:
            total.remaining = OutboxStatement.objects.filter(status=OutboxStatement.Status.PENDING).exists()
    if total.sent or total.rejected:
        _close_circuit()
    return total
