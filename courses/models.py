from django.conf import settings
from django.db import models
from django.db.models import Q

from quizzes.models import Quiz


class Course(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    ce_hours = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    provider_approval_number = models.CharField(max_length=100, blank=True)
    accrediting_statement = models.TextField(blank=True)
    validity_months = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Certificate expiry")
    open_enrollment = models.BooleanField(default=False, help_text="Learners may enrol themselves.")
    minimum_lesson_percent = models.PositiveSmallIntegerField(
        default=0,
        help_text="A lesson can be marked read only this percent of its estimated minutes after it was "
        "first opened (0: off). Continuing-education courses set it so CE hours rest on recorded time.",
    )

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minimum_lesson_percent__lte=100),
                name="course_minimum_lesson_percent_0_100",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class CourseVersion(models.Model):
    """An immutable snapshot of a course's content, identified by its content hash."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (not yet medically reviewed)"
        PUBLISHED = "published", "Published"
        SUPERSEDED = "superseded", "Superseded"

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    medical_reviewer = models.CharField(max_length=200, blank=True)
    medical_review_date = models.DateField(null=True, blank=True)
    objectives = models.JSONField(default=dict, help_text="{objective id: description}")
    final_exam = models.ForeignKey(Quiz, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    changes = models.JSONField(default=dict, blank=True, help_text="What changed from the previous version.")
    loaded_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["course", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="courseversion_number_unique"),
            models.UniqueConstraint(
                fields=["course"], condition=Q(status="published"), name="courseversion_one_published"
            ),
            models.CheckConstraint(
                condition=~Q(status="published")
                | (~Q(medical_reviewer="") & Q(medical_review_date__isnull=False)),
                name="courseversion_published_needs_review",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course} v{self.number}"

    @property
    def is_reviewed(self) -> bool:
        return bool(self.medical_reviewer and self.medical_review_date)


class Module(models.Model):
    version = models.ForeignKey(CourseVersion, on_delete=models.CASCADE, related_name="modules")
    key = models.SlugField(max_length=50)
    title = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField()
    quiz = models.ForeignKey(Quiz, on_delete=models.PROTECT, related_name="modules")

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="module_key_unique_in_version"),
            models.UniqueConstraint(fields=["version", "position"], name="module_position_unique_in_version"),
        ]

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="lessons")
    key = models.SlugField(max_length=120)
    title = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField()
    minutes = models.PositiveSmallIntegerField(default=5)
    body = models.TextField(help_text="Markdown, as written in the content file")
    body_html = models.TextField(help_text="Rendered and sanitised at load time")
    objectives = models.JSONField(default=list)
    sources = models.JSONField(default=list)
    clinically_significant = models.BooleanField(default=False)
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["module", "position"]
        constraints = [
            models.UniqueConstraint(fields=["module", "key"], name="lesson_key_unique_in_module"),
            models.UniqueConstraint(fields=["module", "position"], name="lesson_position_unique_in_module"),
        ]

    def __str__(self) -> str:
        return self.title


class Enrollment(models.Model):
    """One learner's pass through one course version. Progress is stored here by the services that
    change it, and read by one selector; `check_progress` recomputes it from the raw records."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        EXEMPT = "exempt", "Exempt"

    class Source(models.TextChoices):
        RULE = "rule", "Assignment rule"
        MANUAL = "manual", "Assigned by an admin"
        SELF = "self", "Self-enrolled"
        RECERTIFICATION = "recertification", "Recertification"
        CLINICAL_UPDATE = "clinical_update", "Clinical content update"

    class Kind(models.TextChoices):
        REGULAR = "regular", "Course"
        UPDATE = "update", "Clinical update (changed lessons only)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrollments")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrollments")
    version = models.ForeignKey(CourseVersion, on_delete=models.PROTECT, related_name="enrollments")
    cycle = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.REGULAR)
    update_quiz = models.ForeignKey(Quiz, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    update_lesson_keys = models.JSONField(default=list, blank=True, help_text="Update: the changed lessons")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NOT_STARTED)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    due_date = models.DateField(
        null=True, blank=True, help_text="A local date in the organisation's time zone"
    )
    enrolled_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Stored progress, written only by courses.enrollment.services (see services._refresh_progress).
    lessons_total = models.PositiveSmallIntegerField(default=0)
    lessons_read = models.PositiveSmallIntegerField(default=0)
    quizzes_total = models.PositiveSmallIntegerField(default=0)
    quizzes_passed = models.PositiveSmallIntegerField(default=0)
    signoffs_total = models.PositiveSmallIntegerField(default=0)
    signoffs_done = models.PositiveSmallIntegerField(default=0)
    progress_percent = models.PositiveSmallIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "course", "-cycle"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "course", "cycle"],
                condition=Q(kind="regular"),
                name="enrollment_user_course_cycle_unique",
            ),
            models.UniqueConstraint(
                fields=["user", "version"],
                condition=Q(kind="update"),
                name="enrollment_one_update_per_version",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(completed_at__isnull=False),
                name="enrollment_completed_has_date",
            ),
            models.CheckConstraint(
                condition=Q(progress_percent__lte=100), name="enrollment_progress_max_100"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_date"], name="enrollment_status_due")]

    def __str__(self) -> str:
        return f"{self.user} · {self.course} (cycle {self.cycle})"


class LessonProgress(models.Model):
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="lesson_progress")
    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT, related_name="+")
    first_opened_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    seconds_spent = models.PositiveIntegerField(default=0)
    seconds_recorded = models.PositiveIntegerField(
        default=0,
        help_text="Server-measured time from first opening to completion, capped at the lesson's estimate: "
        "the time the transcript shows behind the CE hours.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "lesson"], name="lessonprogress_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id}:{self.lesson_id}"


class CourseEvaluation(models.Model):
    """The short course evaluation a learner submits before a CE certificate is issued."""

    RATING_QUESTIONS = {
        "relevance": "The course was relevant to my work.",
        "clarity": "The lessons were clear and easy to follow.",
        "confidence": "I feel more confident responding to an overdose or a dangerous combination.",
    }

    enrollment = models.OneToOneField(Enrollment, on_delete=models.PROTECT, related_name="evaluation")
    ratings = models.JSONField(help_text="{question key: 1-5}")
    comments = models.TextField(blank=True)
    submitted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Evaluation {self.enrollment_id}"


class CertificateSequence(models.Model):
    """The last certificate number used in a year; locked while a number is taken, so numbers are
    sequential and never reused."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Certificate(models.Model):
    number = models.CharField(max_length=32, unique=True)
    verify_code = models.CharField(max_length=64, unique=True, help_text="secrets.token_urlsafe; public")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="certificates")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="certificates")
    version = models.ForeignKey(CourseVersion, on_delete=models.PROTECT, related_name="+")
    # Snapshots: a certificate states what was true when it was issued.
    learner_name = models.CharField(max_length=300)
    licence_number = models.CharField(max_length=64, blank=True)
    course_title = models.CharField(max_length=200)
    ce_hours = models.DecimalField(max_digits=5, decimal_places=2)
    provider_approval_number = models.CharField(max_length=100, blank=True)
    accrediting_statement = models.TextField(blank=True)
    completed_on = models.DateField()
    issued_at = models.DateTimeField()
    expires_on = models.DateField(null=True, blank=True)
    renews = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewed_by"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replaces = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
        help_text="The revoked certificate this one was reissued for.",
    )
    pdf = models.FileField(upload_to="certificates/%Y/", blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    update_due = models.DateField(
        null=True,
        blank=True,
        help_text="A clinical update is due: valid until then unless the update is done.",
    )

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            # One valid certificate per completed enrollment; a revoked one may be replaced by a reissue.
            models.UniqueConstraint(
                fields=["enrollment"],
                condition=Q(revoked_at__isnull=True),
                name="certificate_one_valid_per_enrollment",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""),
                name="certificate_revocation_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def effective_expiry(self):
        """The earlier of the expiry date and a pending clinical update's due date."""
        dates = [d for d in (self.expires_on, self.update_due) if d is not None]
        return min(dates) if dates else None

    def status_on(self, day) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.effective_expiry is not None and day > self.effective_expiry:
            return "expired"
        return "valid"


class AssignmentRule(models.Model):
    """Who must take a course and by when. Owns "next cycle": recurrence and recertification."""

    class Audience(models.TextChoices):
        ALL = "all", "All staff"
        DEPARTMENT = "department", "A department"
        JOB_TITLE = "job_title", "A job title"

    name = models.CharField(max_length=200)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="assignment_rules")
    audience = models.CharField(max_length=12, choices=Audience.choices, default=Audience.ALL)
    department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.PROTECT)
    job_title = models.CharField(max_length=200, blank=True)
    start_date = models.DateField(help_text="Staff hired before this date are due N days after it.")
    due_days = models.PositiveSmallIntegerField(
        default=30, help_text="Days after hire date (new staff) or start date"
    )
    recurrence_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Repeat every N months after completion (annual CE: 12). Blank: once.",
    )
    renew_days_before = models.PositiveSmallIntegerField(
        default=30,
        help_text="Open the next cycle this many days before it is due (or the certificate expires).",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(audience="all") & Q(department__isnull=True) & Q(job_title=""))
                | (Q(audience="department") & Q(department__isnull=False) & Q(job_title=""))
                | (Q(audience="job_title") & Q(department__isnull=True) & ~Q(job_title="")),
                name="assignmentrule_audience_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """One email about one enrollment at one offset to one person: created pending, then sent or failed.
    The unique constraint makes "at most once per enrollment and offset" a database fact."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40, help_text="e.g. due-7, due0, overdue7, escalate-supervisor")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "kind", "recipient"], name="notification_once"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="notification_status")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id} ({self.status})"


class EnrollmentOverride(models.Model):
    """Course-level exceptions: a due-date extension or an exemption, each with a reason (audited).
    Quiz-level exceptions (extra attempt, cool-down reset, time multiplier) are quizzes.QuizOverride."""

    class Kind(models.TextChoices):
        DUE_DATE_EXTENSION = "due_date_extension", "Due-date extension"
        EXEMPTION = "exemption", "Exemption"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="overrides")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    reason = models.TextField()
    previous_due_date = models.DateField(null=True, blank=True)
    new_due_date = models.DateField(null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="enrollmentoverride_reason_required"),
            models.CheckConstraint(
                condition=~Q(kind="due_date_extension") | Q(new_due_date__isnull=False),
                name="enrollmentoverride_extension_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for enrollment {self.enrollment_id}"


class ExportJob(models.Model):
    """A CSV export run by a Celery task, with progress for the page to poll and a file to download."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=32)
    params = models.JSONField(default=dict)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} export {self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(self.rows_done * 100 // self.rows_total) if self.rows_total else 0


class RequiredSkill(models.Model):
    """A practical skill a supervisor must observe and sign off before the course is complete."""

    version = models.ForeignKey(CourseVersion, on_delete=models.CASCADE, related_name="skills")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["version", "position"]
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="requiredskill_key_unique")]

    def __str__(self) -> str:
        return self.title


class SkillSignoff(models.Model):
    """An in-person observation: who observed, when, and notes. One per enrollment and skill."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="signoffs")
    skill = models.ForeignKey(RequiredSkill, on_delete=models.PROTECT, related_name="signoffs")
    observer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    observed_on = models.DateField()
    notes = models.TextField(blank=True)
    signed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["enrollment", "skill"], name="skillsignoff_once")]

    def __str__(self) -> str:
        return f"{self.skill} for enrollment {self.enrollment_id}"


class EvidencePack(models.Model):
    """A surveyor evidence pack (ZIP) for a department and a date range, built by a Celery task."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="+")
    date_from = models.DateField()
    date_to = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    steps_total = models.PositiveIntegerField(default=0)
    steps_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="evidence/%Y/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Evidence pack {self.pk} ({self.department_id}, {self.date_from}–{self.date_to})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(self.steps_done * 100 // self.steps_total) if self.steps_total else 0
