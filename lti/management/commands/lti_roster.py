from django.core.management.base import BaseCommand, CommandError

from lti import passback
from lti.models import ResourceLink


class Command(BaseCommand):
    help = "List an LMS course's people (Names and Role Provisioning) for a resource link id."

    def add_arguments(self, parser):
        parser.add_argument("link_id", type=int)

    def handle(self, *args, link_id, **options):
        link = ResourceLink.objects.select_related("platform").filter(pk=link_id).first()
        if link is None:
            raise CommandError(f"no LTI resource link {link_id}")
        for member in passback.roster(link):
            self.stdout.write(
                f"{member.user_id}\t{member.name}\t{member.email}\t{','.join(member.roles)}\t{member.status}"
            )
