from django.conf import settings
from django.db import models
from django.db.models import Q


class QuestionType(models.TextChoices):
    SINGLE = "single", "Single choice"
    MULTIPLE = "multiple", "Multiple response"
    TRUE_FALSE = "true_false", "True / false"
    ORDERING = "ordering", "Ordering"
    MATCHING = "matching", "Matching"
    NUMERIC = "numeric", "Numeric"
    SCENARIO = "scenario", "Scenario"


class Scoring(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", "All or nothing"
    PARTIAL = "partial", "Partial credit with penalty for wrong picks"


class Pool(models.TextChoices):
    """Which quizzes may draw a bank's questions. Practice items are reviewed with full keys after every
    attempt, so a certifying quiz must never draw them; exam items are never reviewed with keys, so no
    practice quiz may draw them. `Quiz.pool` decides which pool a quiz draws from."""

    PRACTICE = "practice", "Practice (module quizzes, full review)"
    EXAM = "exam", "Reserved exam pool (certifying quizzes only)"


class QuestionBank(models.Model):
    key = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    pool = models.CharField(max_length=10, choices=Pool.choices, default=Pool.PRACTICE)

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    """One version of a question. A change to an attempted question makes a new version; the old
    version stays, so attempts keep pointing at exactly what the learner saw."""

    bank = models.ForeignKey(QuestionBank, on_delete=models.PROTECT, related_name="questions")
    key = models.SlugField(max_length=120)
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="parts",
        help_text="The scenario this sub-question belongs to.",
    )
    position = models.PositiveSmallIntegerField(default=0)
    type = models.CharField(max_length=20, choices=QuestionType.choices)
    stem = models.TextField(help_text="Markdown")
    explanation = models.TextField()
    objective = models.CharField(max_length=20, db_index=True)
    difficulty = models.PositiveSmallIntegerField(default=2)
    critical = models.BooleanField(default=False)
    clinically_significant = models.BooleanField(default=False)
    source = models.CharField(max_length=500)
    scoring = models.CharField(max_length=20, choices=Scoring.choices, default=Scoring.ALL_OR_NOTHING)
    data = models.JSONField(
        default=dict, blank=True, help_text="Numeric answer, unit, extra matching options."
    )
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bank", "key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="question_key_version_unique"),
            models.UniqueConstraint(
                fields=["key"], condition=Q(is_current=True), name="question_one_current_version"
            ),
            models.CheckConstraint(
                condition=Q(difficulty__gte=1, difficulty__lte=3), name="question_difficulty_1_3"
            ),
        ]
        indexes = [models.Index(fields=["bank", "is_current"], name="question_bank_current")]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"


class Choice(models.Model):
    """A choice (single, multiple, true/false), an item to order (position = correct place), or a
    matching pair (text = left, match_text = right)."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    match_text = models.TextField(blank=True)
    correct = models.BooleanField(default=False)
    feedback = models.TextField(blank=True)

    class Meta:
        ordering = ["question", "position"]
        constraints = [
            models.UniqueConstraint(fields=["question", "position"], name="choice_position_unique"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class Quiz(models.Model):
    class Kind(models.TextChoices):
        MODULE = "module", "Module quiz"
        FINAL = "final", "Final exam"

    class GradingPolicy(models.TextChoices):
        HIGHEST = "highest", "Highest attempt"
        LAST = "last", "Last attempt"
        FIRST = "first", "First attempt"
        AVERAGE = "average", "Average of attempts"

    class ReviewPolicy(models.TextChoices):
        NOTHING = "none", "Nothing"
        SCORE = "score", "Score only"
        WRONG = "wrong", "Which answers were wrong"
        FULL = "full", "Full key with explanations"
        OBJECTIVES = "objectives", "Score and objectives to revisit (no keys, no per-item marks)"

    class Layout(models.TextChoices):
        ONE_PER_PAGE = "one_per_page", "One question per page"
        ALL_ON_ONE_PAGE = "all_on_one_page", "All questions on one page"

    key = models.SlugField(max_length=120)
    settings_hash = models.CharField(max_length=64, help_text="Hash of the settings and draw rules.")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MODULE)
    pass_mark = models.PositiveSmallIntegerField(default=80, help_text="Percent")
    attempt_limit = models.PositiveSmallIntegerField(null=True, blank=True)
    time_limit_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    cooldown_minutes = models.PositiveIntegerField(default=0)
    grading_policy = models.CharField(
        max_length=10, choices=GradingPolicy.choices, default=GradingPolicy.HIGHEST
    )
    review_policy = models.CharField(max_length=10, choices=ReviewPolicy.choices, default=ReviewPolicy.FULL)
    layout = models.CharField(max_length=20, choices=Layout.choices, default=Layout.ONE_PER_PAGE)
    shuffle_questions = models.BooleanField(default=True)
    shuffle_choices = models.BooleanField(default=True)
    require_lessons_read = models.BooleanField(default=True)
    remediation_extra_questions = models.PositiveSmallIntegerField(
        default=0, help_text="On a retake after a fail, draw this many more questions from missed objectives."
    )
    certifying = models.BooleanField(
        default=False,
        help_text="Certifies knowledge: draws only from the reserved exam pool and reviews by objective.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "quizzes"
        constraints = [
            models.UniqueConstraint(fields=["key", "settings_hash"], name="quiz_key_settings_unique"),
            models.CheckConstraint(
                condition=Q(pass_mark__gte=1, pass_mark__lte=100), name="quiz_pass_mark_1_100"
            ),
            # A certifying quiz that showed keys would leak the exam pool after its first attempt.
            models.CheckConstraint(
                condition=Q(certifying=False) | Q(review_policy="objectives"),
                name="quiz_certifying_reviews_by_objective",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def pool(self) -> str:
        """The one rule for which questions a quiz may draw (draw rules, remediation, validation)."""
        return Pool.EXAM if self.certifying else Pool.PRACTICE


class DrawRule(models.Model):
    """Draw `count` current questions from a bank, from one learning objective across banks, or one
    named question (by its stable key, e.g. for a clinical update quiz)."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="draw_rules")
    position = models.PositiveSmallIntegerField(default=0)
    bank = models.ForeignKey(QuestionBank, null=True, blank=True, on_delete=models.PROTECT)
    objective = models.CharField(max_length=20, blank=True)
    question_key = models.SlugField(max_length=120, blank=True)
    count = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["quiz", "position"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(bank__isnull=False) & Q(objective="") & Q(question_key=""))
                | (Q(bank__isnull=True) & ~Q(objective="") & Q(question_key=""))
                | (Q(bank__isnull=True) & Q(objective="") & ~Q(question_key="")),
                name="drawrule_one_source",
            ),
            models.CheckConstraint(condition=Q(count__gte=1), name="drawrule_count_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.count} from {self.bank or self.objective or self.question_key}"


class QuizOverride(models.Model):
    """Quiz-level exceptions granted by a supervisor or admin, each with a reason (audited by the caller)."""

    class Kind(models.TextChoices):
        EXTRA_ATTEMPT = "extra_attempt", "Extra attempt"
        COOLDOWN_RESET = "cooldown_reset", "Cool-down reset"
        TIME_MULTIPLIER = "time_multiplier", "Time multiplier (accommodation)"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_overrides"
    )
    quiz = models.ForeignKey(
        Quiz, null=True, blank=True, on_delete=models.CASCADE, help_text="Blank: applies to every quiz."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.DecimalField(max_digits=4, decimal_places=2, default=1)
    reason = models.TextField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="quizoverride_reason_required"),
            models.CheckConstraint(
                condition=~Q(kind="time_multiplier") | Q(value__gte=1, value__lte=4),
                name="quizoverride_multiplier_1_4",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user_id}"


class AttemptState(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"


class Attempt(models.Model):
    class Closure(models.TextChoices):
        LEARNER = "learner", "Submitted by the learner"
        DEADLINE = "deadline", "Graded at the deadline"
        STAFF = "staff", "Closed by a supervisor or admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="quiz_attempts")
    quiz = models.ForeignKey(Quiz, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=20, choices=AttemptState.choices, default=AttemptState.IN_PROGRESS)
    layout = models.JSONField(help_text="Frozen question list, order and opaque per-attempt ids.")
    started_at = models.DateTimeField()
    deadline = models.DateTimeField(null=True, blank=True)
    time_multiplier = models.DecimalField(max_digits=4, decimal_places=2, default=1)
    submitted_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=10, choices=Closure.choices, blank=True)
    points = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    max_points = models.PositiveSmallIntegerField(null=True, blank=True)
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True, help_text="Percent")
    passed = models.BooleanField(null=True)
    critical_missed = models.JSONField(default=list, blank=True, help_text="[{question, objective}]")
    flagged = models.JSONField(
        default=list,
        blank=True,
        help_text="Question ids the learner flagged to look at again before submitting.",
    )

    class Meta:
        ordering = ["user", "quiz", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "quiz", "number"], name="attempt_user_quiz_number_unique"
            ),
            models.UniqueConstraint(
                fields=["user", "quiz"],
                condition=Q(state="in_progress"),
                name="attempt_one_in_progress_per_user_quiz",
            ),
            models.CheckConstraint(
                condition=Q(state="in_progress") | Q(submitted_at__isnull=False, score__isnull=False),
                name="attempt_submitted_is_graded",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "deadline"], name="attempt_state_deadline"),
            models.Index(fields=["quiz", "state", "number"], name="attempt_quiz_state_number"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.quiz_id} #{self.number}"

    @property
    def is_open(self) -> bool:
        return self.state == AttemptState.IN_PROGRESS


class Answer(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    response = models.JSONField(default=dict, blank=True)
    saved_at = models.DateTimeField()
    points = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attempt", "question"], name="answer_attempt_question_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id}:{self.question_id}"


class ItemStatisticsSnapshot(models.Model):
    """A quiz's item statistics over one scope of learners' first attempts ("all", or a report viewer's
    staff), stored so a report page does not read a million answers per view. Refreshed by a task after
    grading (quizzes.tasks), recomputed on view when the scope has few answers; `computed_at` is shown
    with the numbers."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="item_statistics")
    scope = models.CharField(max_length=40, help_text='"all", or whose staff, e.g. "supervisor:12".')
    computed_at = models.DateTimeField()
    answers = models.PositiveIntegerField(
        help_text="Answers of first attempts the numbers were computed from."
    )
    items = models.JSONField(default=list, help_text="quizzes.statistics.ItemStats as dicts.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["quiz", "scope"], name="itemstats_one_per_quiz_scope")]

    def __str__(self) -> str:
        return f"item statistics of quiz {self.quiz_id} ({self.scope}) at {self.computed_at:%Y-%m-%d %H:%M}"
