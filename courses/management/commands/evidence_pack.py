from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Department, User
from courses.evidence.services import build_pack
from courses.models import EvidencePack


class Command(BaseCommand):
    help = "Build a surveyor evidence pack ZIP for a department and a date range."

    def add_arguments(self, parser):
        parser.add_argument("--department", required=True, help="department code")
        parser.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD")
        parser.add_argument("--out", required=True, help="where to write the ZIP")
        parser.add_argument("--as-user", default="admin", help="username recorded as the requester")

    def handle(self, *args, department, date_from, date_to, out, as_user, **options):
        try:
            dept = Department.objects.get(code=department)
            start, end = date.fromisoformat(date_from), date.fromisoformat(date_to)
            user = User.objects.get(username=as_user)
        except (Department.DoesNotExist, User.DoesNotExist, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        pack = EvidencePack.objects.create(
            requested_by=user, department=dept, date_from=start, date_to=end, created_at=timezone.now()
        )
        pack = build_pack(pack_id=pack.pk)
        Path(out).write_bytes(pack.file.read())
        self.stdout.write(f"Wrote {out} ({pack.steps_total} steps)")
