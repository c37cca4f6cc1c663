"""Set the test provider up: a signing key, the engine's client (confidential, code flow, RS256, no
consent screen) with its redirect URI, and an account per entry of people.json."""

from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from oidc_provider.models import Client, ResponseType, RSAKey

from tests.sso.provider.people import people


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--redirect-uri", required=True)

    def handle(self, *args, client_id, client_secret, redirect_uri, **options):
        if not RSAKey.objects.exists():
            call_command("creatersakey")
        code, _ = ResponseType.objects.get_or_create(
            value="code", defaults={"description": "code (Authorization Code Flow)"}
        )
        client, _ = Client.objects.update_or_create(
            client_id=client_id,
            defaults={
                "name": "Training engine",
                "client_type": "confidential",
                "client_secret": client_secret,
                "jwt_alg": "RS256",
                "require_consent": False,
                "reuse_consent": True,
                "_redirect_uris": redirect_uri,
            },
        )
        client.response_types.set([code])
        for username, person in people().items():
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(person["password"])
            user.save()
