from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    """Permission roles. Every person is also a learner; a role adds powers on top."""

    LEARNER = "learner", "Learner"
    SUPERVISOR = "supervisor", "Supervisor"
    DEPARTMENT_ADMIN = "department_admin", "Department admin"
    ADMIN = "admin", "Admin"
    SURVEYOR = "surveyor", "Surveyor"
    # Course content (issue 20): an author edits drafts; a medical reviewer reviews and approves them.
    AUTHOR = "author", "Course author"
    MEDICAL_REVIEWER = "medical_reviewer", "Medical reviewer"


class Department(models.Model):
    name = models.CharField(max_length=200, unique=True)
    code = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.LEARNER, db_index=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    supervisor = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_reports"
    )
    job_title = models.CharField(max_length=200, blank=True)
    hire_date = models.DateField(null=True, blank=True)
    employee_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    licence_number = models.CharField(max_length=64, blank=True)
    service_account = models.BooleanField(
        default=False,
        help_text="An account for administration or an integration, not a member of staff: never assigned "
        "training, never counted among the team in reports.",
    )

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            models.CheckConstraint(condition=~Q(supervisor=models.F("pk")), name="user_not_own_supervisor"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def save(self, *args, **kwargs):
        # set_password() leaves the raw password in _password until the save; a changed password ends
        # every API token of the account (sessions end through Django's session hash).
        password_changed = self._password is not None and not self._state.adding
        super().save(*args, **kwargs)
        if password_changed:
            from .tokens import revoke_tokens

            revoke_tokens(user=self, reason="password_changed")

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_supervisor_or_above(self) -> bool:
        return self.role in {Role.SUPERVISOR, Role.DEPARTMENT_ADMIN, Role.ADMIN}


def staff_members(users=None):
    """Who counts as staff, in one place: the people training is assigned to and reports count (the
    team's "people", "not assigned", overdue lists, item statistics). External surveyors and service
    accounts (admin-only or integration logins) have accounts but are not staff. Active or not is a
    separate question: a person who left keeps their records and is filtered by the caller."""
    users = User.objects.all() if users is None else users
    return users.exclude(role=Role.SURVEYOR).exclude(service_account=True)


class SurveyorScope(models.Model):
    """What an external surveyor may see: some departments, records in a date range, until a date."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="surveyor_scope")
    departments = models.ManyToManyField(Department, related_name="+")
    records_from = models.DateField()
    records_to = models.DateField()
    expires_at = models.DateTimeField(help_text="The account stops working after this moment.")
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(records_from__lte=models.F("records_to")), name="surveyorscope_range_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"Scope of {self.user}"

    def covers(self, date_from, date_to) -> bool:
        """Whether records dated from `date_from` to `date_to` (inclusive) lie inside the scope's range."""
        return self.records_from <= date_from and date_to <= self.records_to

    def is_expired(self, now) -> bool:
        return now >= self.expires_at
