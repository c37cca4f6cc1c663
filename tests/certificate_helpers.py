"""Shared helpers for the certificate tests: a course and a completed enrollment built straight in the
database (fast), and PDF inspection with poppler-utils (pdftotext, pdfinfo, pdfdetach)."""

import contextlib
import re
import subprocess
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from courses.models import Course, CourseEvaluation, CourseVersion, Enrollment

COMPLETED_AT = datetime(2030, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 in America/New_York


def make_course(
    *,
    slug: str = "opioid-safety",
    title: str = "Opioid overdose response",
    ce_hours: str | Decimal = "0",
    validity_months: int | None = None,
    approval: str = "",
    statement: str = "",
) -> Course:
    course = Course.objects.create(
        slug=slug,
        title=title,
        ce_hours=Decimal(str(ce_hours)),
        validity_months=validity_months,
        provider_approval_number=approval,
        accrediting_statement=statement,
    )
    CourseVersion.objects.create(
        course=course,
        number=1,
        content_hash="0" * 64,
        status=CourseVersion.Status.PUBLISHED,
        medical_reviewer="Dr Test Reviewer",
        medical_review_date=date(2030, 1, 15),
        loaded_at=COMPLETED_AT,
        published_at=COMPLETED_AT,
    )
    return course


def completed_enrollment(user, course: Course, *, cycle: int = 1, completed_at: datetime | None = None):
    completed_at = completed_at or COMPLETED_AT
    return Enrollment.objects.create(
        user=user,
        course=course,
        version=course.versions.get(number=1),
        cycle=cycle,
        status=Enrollment.Status.COMPLETED,
        enrolled_at=completed_at.replace(day=1, hour=0),
        started_at=completed_at.replace(day=1, hour=0),
        completed_at=completed_at,
        progress_percent=100,
    )


def evaluate(enrollment, **ratings) -> CourseEvaluation:
    return CourseEvaluation.objects.create(
        enrollment=enrollment,
        ratings={"relevance": 5, "clarity": 4, "confidence": 5, **ratings},
        submitted_at=timezone.now(),
    )


# --- PDF inspection ------------------------------------------------------------------------------


def _poppler(tool: str, pdf: bytes, tmp_dir: Path, *args: str) -> str:
    path = tmp_dir / f"{tool}-input.pdf"
    path.write_bytes(pdf)
    cmd = [tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout


def pdf_text(pdf: bytes, tmp_dir: Path) -> str:
    """The PDF's text in content-stream order (pdftotext -raw), whitespace collapsed to single spaces.
    (-raw keeps the rotated, letter-spaced REVOKED mark as one run: "R E V O K E D".)"""
    return " ".join(_poppler("pdftotext", pdf, tmp_dir, "-raw").split())


def squeezed(text: str) -> str:
    """Text without any whitespace: for strings the layout may wrap (the verify URL) or letter-space."""
    return "".join(text.split())


def pdf_info(pdf: bytes, tmp_dir: Path) -> dict[str, str]:
    out = _poppler("pdfinfo", pdf, tmp_dir)
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines()) if v}


def pdf_attachments(pdf: bytes, tmp_dir: Path) -> str:
    return _poppler("pdfdetach", pdf, tmp_dir, "-list")


def pdf_all_bytes(pdf: bytes) -> bytes:
    """The raw PDF plus every Flate stream decompressed, so a leaked file cannot hide in a stream."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(match.group(1)))
    return b"\n".join(parts)
