"""Course drafts edited in the browser, and their medical review (issue 20).

A draft is a course version in the making, held as items (course settings, modules with their quiz,
lessons, banks, questions, the final exam) in the shape of the content files (courses/content/FORMAT.md).
Nothing a learner sees changes until the draft is published: publishing writes the draft as a content
folder and loads it through `courses.catalog.services.load_course`, so the loader's validation, question
versioning and clinical updates are the ones the files already get.

Each item carries a revision number: a save names the revision it started from and is refused when
another save came first (optimistic locking; authoring.services.save_item)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Draft(models.Model):
    class Status(models.TextChoices):
        EDITING = "editing", "Being edited"
        IN_REVIEW = "in_review", "Waiting for medical review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested by the reviewer"
        APPROVED = "approved", "Medically approved, not yet published"
        PUBLISHED = "published", "Published"

    slug = models.SlugField(max_length=100, help_text="The course's slug.")
    course = models.ForeignKey(
        "courses.Course", null=True, blank=True, on_delete=models.PROTECT, related_name="drafts"
    )
    base_version = models.ForeignKey(
        "courses.CourseVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The published version the draft started from (blank: a new course).",
    )
    base_document = models.JSONField(
        default=dict, blank=True, help_text="The base version as a document, frozen when the draft began."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.EDITING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, help_text="The reviewer's note with a request for changes.")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewer_name = models.CharField(max_length=150, blank=True)
    reviewer_credential = models.CharField(max_length=100, blank=True)
    approved_on = models.DateField(null=True, blank=True)
    published_version = models.ForeignKey(
        "courses.CourseVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_document = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"], condition=~Q(status="published"), name="draft_one_open_per_course"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "published"])
                | (
                    Q(reviewer__isnull=False, approved_on__isnull=False)
                    & ~Q(reviewer_name="")
                    & ~Q(reviewer_credential="")
                ),
                name="draft_approval_names_reviewer",
            ),
        ]

    def __str__(self) -> str:
        return f"Draft of {self.slug} ({self.get_status_display()})"

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.EDITING, self.Status.CHANGES_REQUESTED)

    @property
    def reviewed_by(self) -> str:
        """What the course version records as its medical reviewer: name and credential."""
        return f"{self.reviewer_name}, {self.reviewer_credential}" if self.reviewer_name else ""


class DraftItem(models.Model):
    class Kind(models.TextChoices):
        COURSE = "course", "Course settings and objectives"
        MODULE = "module", "Module and its quiz"
        LESSON = "lesson", "Lesson"
        BANK = "bank", "Question bank"
        QUESTION = "question", "Question"
        FINAL_EXAM = "final_exam", "Final exam"

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.SlugField(max_length=120)
    parent_key = models.SlugField(
        max_length=120, blank=True, help_text="Module of a lesson, bank of a question."
    )
    position = models.PositiveIntegerField(default=0)
    data = models.JSONField(default=dict)
    revision = models.PositiveIntegerField(default=1)
    last_editor = models.CharField(
        max_length=32,
        blank=True,
        help_text="The editor page (a random token per page load) that saved last: its own autosave is not a "
        "conflict for its Save button.",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["draft", "kind", "parent_key", "position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "kind", "key"], name="draftitem_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} r{self.revision}"


class ReviewComment(models.Model):
    """One message in the thread on one item of a draft (reviewer's question, author's answer)."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="comments")
    item_kind = models.CharField(max_length=12, choices=DraftItem.Kind.choices)
    item_key = models.SlugField(max_length=120)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["draft", "item_kind", "item_key", "created_at", "pk"]
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="reviewcomment_not_empty")]

    def __str__(self) -> str:
        return f"{self.author_id} on {self.item_kind} {self.item_key}"


class ReviewPacket(models.Model):
    """The review packet PDF of a draft, rendered by a Celery task (a whole course is hundreds of pages:
    longer than a web request may take) and served by a permission-checked view."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Rendering"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="packets")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    draft_status = models.CharField(
        max_length=20, help_text="The draft's status when the packet was asked for."
    )
    file = models.FileField(upload_to="review-packets/%Y/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Review packet {self.pk} of draft {self.draft_id} ({self.status})"
