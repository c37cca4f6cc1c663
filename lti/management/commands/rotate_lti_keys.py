from django.core.management.base import BaseCommand

from lti import keys


class Command(BaseCommand):
    help = (
        "Make a new LTI signing key. The previous key retires and stays in /lti/jwks/ for "
        "LTI_KEY_RETENTION_SECONDS (its tokens expire long before); keys past that are deleted. Audited."
    )

    def handle(self, *args, **options):
        key = keys.rotate_keys()
        published = [k.kid for k in keys.published_keys()]
        self.stdout.write(f"signing key {key.kid}; published: {', '.join(published)}")
