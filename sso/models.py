from django.conf import settings
from django.db import models


class SSOIdentity(models.Model):
    """The provider's account (issuer + subject) linked to a person. Made at the first SSO sign-in,
    which finds the person by employee id (an account from the staff CSV import is linked, not
    duplicated); afterwards a token whose subject differs from the linked one is refused."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    linked_at = models.DateTimeField()
    last_sign_in_at = models.DateTimeField()

    class Meta:
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.subject})"
