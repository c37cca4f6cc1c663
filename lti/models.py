"""LTI 1.3: the platforms (LMSs) registered with this tool, the tool's own signing keys, and what
launches leave behind (who a platform's user is here, which course or quiz a link points at, which
scores go back). Rows are written only by lti.services (and the admin, for platforms)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Platform(models.Model):
    """One registration of this tool in one LMS: what the LMS shows when the tool is added there."""

    name = models.CharField(max_length=200, help_text="For people: 'County Moodle', 'Canvas (staff)'.")
    issuer = models.URLField(
        max_length=500, help_text="The platform's issuer ('iss'), e.g. https://moodle.example.org"
    )
    client_id = models.CharField(max_length=255, help_text="The client id the platform gave this tool.")
    auth_login_url = models.URLField(max_length=500, help_text="OIDC authentication request URL.")
    auth_token_url = models.URLField(max_length=500, help_text="OAuth2 access token URL (services).")
    auth_audience = models.CharField(
        max_length=500, blank=True, help_text="Audience of the token request, if not the token URL (rare)."
    )
    jwks_url = models.URLField(max_length=500, help_text="The platform's public keyset URL.")
    is_active = models.BooleanField(default=True)
    match_by_email = models.BooleanField(
        default=True,
        help_text="A first launch may link to an existing learner account with the same email. Never to "
        "an account with a role above learner, staff or admin access: those are linked by hand.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "client_id"], name="lti_platform_iss_client")
        ]

    def __str__(self) -> str:
        return self.name


class Deployment(models.Model):
    """A deployment id the platform sends in every launch; launches from any other are refused."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="deployments")
    deployment_id = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "deployment_id"], name="lti_deployment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.platform} / {self.deployment_id}"


class ToolKey(models.Model):
    """An RSA key the tool signs with (service token requests, deep-linking responses). The newest
    unretired key signs; a retired key stays published in /lti/jwks/ until every token it signed has
    expired (`published_until`), then `rotate_lti_keys` deletes it."""

    kid = models.CharField(max_length=100, unique=True)
    private_key_pem = models.TextField()
    public_key_pem = models.TextField()
    created_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)
    published_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.kid


class PlatformUser(models.Model):
    """A platform's user ('sub') within one deployment, and the account it signs in as."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="users")
    deployment_id = models.CharField(max_length=255)
    sub = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_identities"
    )
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField()
    last_launch_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "deployment_id", "sub"], name="lti_platform_user_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform}: {self.sub}"


class ResourceLink(models.Model):
    """A placement of a course or a quiz in the LMS (made by deep linking), with the services the
    platform offered at its last launch: the line item scores go to, the roster URL."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="links")
    deployment_id = models.CharField(max_length=255)
    resource_link_id = models.CharField(max_length=255)
    context_id = models.CharField(max_length=255, blank=True)
    context_title = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=255, blank=True)
    course = models.ForeignKey("courses.Course", on_delete=models.PROTECT, related_name="+")
    quiz_key = models.CharField(
        max_length=120,
        blank=True,
        help_text="A quiz of the course (by key, across versions); blank: the course.",
    )
    lineitem_url = models.URLField(max_length=1000, blank=True)
    lineitems_url = models.URLField(max_length=1000, blank=True)
    ags_scopes = models.JSONField(default=list, blank=True)
    memberships_url = models.URLField(max_length=1000, blank=True)
    learners = models.ManyToManyField(PlatformUser, related_name="links", blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "deployment_id", "resource_link_id"], name="lti_resource_link_unique"
            )
        ]

    def __str__(self) -> str:
        return self.title or self.resource_link_id


class ScoreSubmission(models.Model):
    """One score to send to a platform's line item (the outbox the passback task works through): made
    in the grading or completion transaction, sent after commit, retried until the platform takes it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Accepted by the platform"
        FAILED = "failed", "Gave up after retries"

    link = models.ForeignKey(ResourceLink, on_delete=models.CASCADE, related_name="scores")
    learner = models.ForeignKey(PlatformUser, on_delete=models.CASCADE, related_name="scores")
    score_given = models.DecimalField(max_digits=7, decimal_places=2)
    score_maximum = models.DecimalField(max_digits=7, decimal_places=2)
    activity_progress = models.CharField(max_length=20, default="Completed")
    grading_progress = models.CharField(max_length=20, default="FullyGraded")
    timestamp = models.DateTimeField(
        help_text="When the engine graded or completed it (sent as the score's time)."
    )
    attempt = models.ForeignKey(
        "quizzes.Attempt", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrollment = models.ForeignKey(
        "courses.Enrollment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    tries = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score_given__gte=0) & Q(score_given__lte=models.F("score_maximum")),
                name="lti_score_within_maximum",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="lti_score_sent_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} {self.score_given}/{self.score_maximum} ({self.status})"
