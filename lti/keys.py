"""The tool's signing keys: the newest unretired key signs; /lti/jwks/ publishes it and every retired key
whose tokens may still be checked. Rotation (`manage.py rotate_lti_keys`) adds a key, retires the old
one and deletes keys whose publication window has passed."""

import json
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from jwcrypto.jwk import JWK

from core import audit

from .models import ToolKey


def retention() -> timedelta:
    """How long a retired key stays published: longer than any token it signed lives (a service token
    request lives 60 s, a deep-linking response 10 minutes) plus the time platforms cache our keyset."""
    return timedelta(seconds=settings.LTI_KEY_RETENTION_SECONDS)


def public_jwk(public_key_pem: str) -> dict:
    # The kid is the key's RFC 7638 thumbprint: the same value pylti1p3 puts in the header it signs.
    jwk = json.loads(JWK.from_pem(public_key_pem.encode()).export_public())
    return {**jwk, "alg": "RS256", "use": "sig"}


def _new_key(now: datetime) -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return ToolKey.objects.create(
        kid=public_jwk(public_pem)["kid"],
        private_key_pem=private_pem,
        public_key_pem=public_pem,
        created_at=now,
    )


@transaction.atomic
def rotate_keys(*, now: datetime | None = None, actor=None) -> ToolKey:
    """A new signing key; the previous ones retire now and stay published for `retention()`; keys past
    their window are deleted. Audited."""
    now = now or timezone.now()
    list(ToolKey.objects.select_for_update().all())  # one rotation at a time
    retired = list(ToolKey.objects.filter(retired_at__isnull=True).values_list("kid", flat=True))
    ToolKey.objects.filter(retired_at__isnull=True).update(retired_at=now, published_until=now + retention())
    expired = list(ToolKey.objects.filter(published_until__lte=now).values_list("kid", flat=True))
    ToolKey.objects.filter(published_until__lte=now).delete()
    key = _new_key(now)
    audit.record(
        action="lti.keys_rotated",
        target=key,
        actor=actor,
        now=now,
        data={"new": key.kid, "retired": retired, "deleted": expired},
    )
    return key


def signing_key() -> ToolKey:
    """The key to sign with; the first use makes one (so a fresh install needs no extra step)."""
    key = ToolKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
    return key or rotate_keys()


def published_keys(*, now: datetime | None = None) -> list[ToolKey]:
    now = now or timezone.now()
    return list(ToolKey.objects.filter(Q(retired_at__isnull=True) | Q(published_until__gt=now)))


def jwks(*, now: datetime | None = None) -> dict:
    return {"keys": [public_jwk(key.public_key_pem) for key in published_keys(now=now)]}
