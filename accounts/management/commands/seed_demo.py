import os

from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.services import seed_demo_users


class Command(BaseCommand):
    help = (
        "Create the demo users (learner, supervisor, admin, surveyor, author, reviewer) idempotently, and load "
        "course content."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-content", action="store_true", help="Only create the demo users.")

    def handle(self, *args, **options):
        result = seed_demo_users(password=os.environ.get("DEMO_PASSWORD") or None)
        created = ", ".join(result.created) or "none (already present)"
        self.stdout.write(f"Demo users created: {created}")
        if result.generated_password:
            self.stdout.write(
                self.style.WARNING(
                    f"Demo password (generated; set DEMO_PASSWORD to choose): {result.password}"
                )
            )
        else:
            self.stdout.write("Demo password: taken from DEMO_PASSWORD")
        self._admin_second_factor()
        if not options["no_content"]:
            from django.apps import apps

            if apps.is_installed("courses") and _has_command("seed_demo_content"):
                call_command("seed_demo_content", stdout=self.stdout, stderr=self.stderr)

    def _admin_second_factor(self):
        """The demo admin, author and medical reviewer need a second factor like any such role: print
        each one's authenticator key and single-use recovery codes (new ones each run) so the demo can
        log in."""
        from django.conf import settings

        from accounts import mfa
        from accounts.models import User

        state = "required" if getattr(settings, "MFA_ENFORCED", True) else "off (MFA_ENFORCED=false)"
        for username in ("admin", "author", "reviewer"):
            user = User.objects.filter(username=username).first()
            if user is None:
                continue
            url, key, codes = mfa.enrol_for_demo(user)
            self.stdout.write(self.style.WARNING(f"Demo {username} two-step verification ({state}):"))
            self.stdout.write(f"  authenticator key: {key}")
            self.stdout.write(f"  or scan/open: {url}")
            self.stdout.write(f"  single-use recovery codes: {' '.join(codes)}")


def _has_command(name: str) -> bool:
    from django.core.management import get_commands

    return name in get_commands()
