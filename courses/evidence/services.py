"""Surveyor evidence pack: one ZIP per department and date range with a PDF summary, completions CSV,
certificate PDFs, skill sign-off records, the audit chain verification and a manifest of SHA-256 sums.
Built by a Celery task with progress; never contains quiz answers."""

import csv
import hashlib
import io
import logging
import tempfile
import zipfile
from datetime import date, datetime, time

from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.access import active_surveyor_scope
from accounts.models import User, staff_members
from core.audit import checkpoint_file_bytes, publish_checkpoint, verify_chain
from core.queue import enqueue_after_commit
from courses import scope
from courses.certificates import services as certificates
from courses.enrollment import selectors as enrollment_selectors
from courses.errors import CourseError
from courses.models import Certificate, CourseVersion, Enrollment, EvidencePack, SkillSignoff
from courses.reports.exports import neutralise

logger = logging.getLogger(__name__)


class EvidenceRefused(CourseError):
    http_status = 403
    code = "evidence_refused"


@transaction.atomic
def request_pack(*, requested_by, department_id: int, date_from: date, date_to: date) -> EvidencePack:
    department = scope.departments_in_scope(requested_by).filter(pk=department_id).first()
    if department is None:
        raise EvidenceRefused("You cannot request evidence for this department.")
    if date_from > date_to:
        raise EvidenceRefused("The date range is reversed.")
    surveyor_scope = active_surveyor_scope(requested_by)
    if surveyor_scope is not None and not surveyor_scope.covers(date_from, date_to):
        raise EvidenceRefused(
            f"Your access covers {surveyor_scope.records_from:%d %b %Y} to {surveyor_scope.records_to:%d %b %Y}."
        )
    pack = EvidencePack.objects.create(
        requested_by=requested_by,
        department=department,
        date_from=date_from,
        date_to=date_to,
        created_at=timezone.now(),
    )

    def mark_failed(exc: Exception) -> None:
        EvidencePack.objects.filter(pk=pack.pk).update(
            status=EvidencePack.Status.FAILED, error=str(exc)[:500]
        )

    enqueue_after_commit("courses.tasks.build_evidence_pack", pack.pk, on_failure=mark_failed)
    return pack


def _csv(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode()


def _gather(pack: EvidencePack) -> dict:
    tz = timezone.get_current_timezone()
    start = datetime.combine(pack.date_from, time.min, tzinfo=tz)
    end = datetime.combine(pack.date_to, time.max, tzinfo=tz)
    people = list(
        staff_members(User.objects.filter(department=pack.department)).order_by("last_name", "first_name")
    )
    enrollments = list(
        Enrollment.objects.filter(user__in=people)
        .filter(
            Q(due_date__range=(pack.date_from, pack.date_to))
            | Q(completed_at__range=(start, end))
            | Q(enrolled_at__range=(start, end))
        )
        .select_related("user", "course", "version")
        .order_by("course__title", "version__number", "user__last_name")
    )
    certs = list(
        Certificate.objects.filter(enrollment__in=enrollments).select_related("user").order_by("number")
    )
    signoffs = list(
        SkillSignoff.objects.filter(enrollment__in=enrollments)
        .select_related("enrollment__user", "skill", "observer")
        .order_by("signed_at")
    )
    today = timezone.localdate()
    by_version: dict[int, dict] = {}
    for e in enrollments:
        row = by_version.setdefault(
            e.version_id,
            {
                "version": e.version,
                "course": e.course,
                "required": 0,
                "completed": 0,
                "overdue": 0,
                "people": [],
            },
        )
        row["required"] += 1
        done = e.status == Enrollment.Status.COMPLETED and e.completed_at and e.completed_at <= end
        overdue = enrollment_selectors.is_overdue(e, min(today, pack.date_to), completed=bool(done))
        row["completed"] += bool(done)
        row["overdue"] += bool(overdue)
        row["people"].append({"enrollment": e, "done": done, "overdue": overdue})
    return {
        "people": people,
        "enrollments": enrollments,
        "certificates": certs,
        "signoffs": signoffs,
        "versions": sorted(by_version.values(), key=lambda r: (r["course"].title, r["version"].number)),
    }


def build_pack(*, pack_id: int) -> EvidencePack:
    pack = EvidencePack.objects.select_related("department", "requested_by").get(pk=pack_id)
    if pack.status == EvidencePack.Status.DONE:
        return pack
    data = _gather(pack)
    steps = 4 + len(data["certificates"])
    EvidencePack.objects.filter(pk=pack.pk).update(
        status=EvidencePack.Status.RUNNING, steps_total=steps, steps_done=0
    )
    done = 0
    manifest = []

    def step():
        nonlocal done
        done += 1
        EvidencePack.objects.filter(pk=pack.pk).update(steps_done=done)

    try:
        with tempfile.TemporaryFile() as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:

                def add(name: str, content: bytes):
                    archive.writestr(name, content)
                    manifest.append((name, hashlib.sha256(content).hexdigest(), len(content)))

                # The pack carries the chain's checkpoints (published outside the database, one more
                # now), so a later rewrite of the log can be shown against the copy the surveyor holds.
                publish_checkpoint()
                chain = verify_chain()
                add(
                    "audit-chain-verification.txt",
                    (
                        f"{chain.message}\nverified at {timezone.now().isoformat()}\n"
                        f"events checked: {chain.events}\nresult: {'OK' if chain.ok else 'BROKEN'}\n"
                    ).encode(),
                )
                add("audit-checkpoints.jsonl", checkpoint_file_bytes())
                step()
                add(
                    "completions.csv",
                    _csv(
                        [
                            [
                                "Employee id",
                                "Name",
                                "Course",
                                "Version",
                                "Medical reviewer",
                                "Review date",
                                "Status",
                                "Due date",
                                "Completed at",
                                "Certificate",
                                "CE hours",
                            ]
                        ]
                        + [
                            [
                                e.user.employee_id,
                                e.user.get_full_name() or e.user.username,
                                e.course.title,
                                e.version.number,
                                e.version.medical_reviewer or "not yet reviewed",
                                e.version.medical_review_date or "",
                                e.get_status_display(),
                                e.due_date or "",
                                e.completed_at.isoformat() if e.completed_at else "",
                                ", ".join(c.number for c in data["certificates"] if c.enrollment_id == e.pk),
                                e.course.ce_hours if e.status == "completed" else "",
                            ]
                            for e in data["enrollments"]
                        ]
                    ),
                )
                step()
                add(
                    "skill-signoffs.csv",
                    _csv(
                        [["Employee id", "Name", "Skill", "Observed on", "Observer", "Notes", "Recorded at"]]
                        + [
                            [
                                s.enrollment.user.employee_id,
                                s.enrollment.user.get_full_name(),
                                s.skill.title,
                                s.observed_on,
                                str(s.observer),
                                s.notes,
                                s.signed_at.isoformat(),
                            ]
                            for s in data["signoffs"]
                        ]
                    ),
                )
                step()
                for cert in data["certificates"]:
                    pdf = certificates.render_pdf_bytes(cert, revoked=cert.revoked_at is not None)
                    add(f"certificates/{cert.number}{'-REVOKED' if cert.revoked_at else ''}.pdf", pdf)
                    step()
                from weasyprint import HTML

                summary = render_to_string(
                    "courses/evidence_summary.html",
                    {
                        "pack": pack,
                        "versions": data["versions"],
                        "chain": chain,
                        "generated": timezone.now(),
                        "signoffs": len(data["signoffs"]),
                        "certificates": len(data["certificates"]),
                    },
                )
                add(
                    "summary.pdf",
                    HTML(
                        string=summary,
                        base_url=certificates.STATIC_ROOT_FOR_PDF.as_uri() + "/",
                        url_fetcher=certificates._locked_fetcher_class()(),
                    ).write_pdf(),
                )
                step()
                archive.writestr(
                    "MANIFEST.sha256", "".join(f"{digest}  {name}\n" for name, digest, _ in manifest)
                )
            handle.seek(0)
            name = f"evidence-{pack.department.code}-{pack.date_from}-{pack.date_to}-{pack.pk}.zip"
            pack.file.save(name, File(handle), save=False)
    except Exception as exc:
        EvidencePack.objects.filter(pk=pack.pk).update(
            status=EvidencePack.Status.FAILED, error=str(exc)[:500]
        )
        raise
    EvidencePack.objects.filter(pk=pack.pk).update(
        status=EvidencePack.Status.DONE, file=pack.file.name, steps_done=steps, finished_at=timezone.now()
    )
    pack.refresh_from_db()
    return pack


__all__ = ["EvidenceRefused", "build_pack", "request_pack", "CourseVersion"]
