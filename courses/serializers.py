"""Response schemas of the course and report endpoints (courses.api, courses.reports.api,
courses.certificates.verify_views). The views build their dicts from the selectors; these serializers describe those
dicts in /api/schema/ and the schemathesis suite holds every body against them."""

from rest_framework import serializers

from core.serializers import ErrorSerializer


class ProgressSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="not_started, in_progress, completed, exempt")
    percent = serializers.IntegerField()
    lessons_read = serializers.IntegerField()
    lessons_total = serializers.IntegerField()
    quizzes_passed = serializers.IntegerField()
    quizzes_total = serializers.IntegerField()
    complete = serializers.BooleanField()
    due_date = serializers.DateField(allow_null=True)
    overdue = serializers.BooleanField()
    completed_at = serializers.DateTimeField(allow_null=True)
    cycle = serializers.IntegerField()
    version = serializers.IntegerField()


class QuizStateSerializer(serializers.Serializer):
    """A quiz as the learner stands (quizzes.eligibility): its state, the reason, the next start."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    state = serializers.CharField(
        help_text="not_started, locked, in_progress, time_up, cooling_down, no_attempts_left, passed, failed"
    )
    reason = serializers.CharField(allow_blank=True)
    can_start = serializers.BooleanField()
    next_start_at = serializers.DateTimeField(allow_null=True)
    attempts_used = serializers.IntegerField()
    attempts_allowed = serializers.IntegerField(allow_null=True)
    attempt_limit = serializers.IntegerField(allow_null=True)
    passed = serializers.BooleanField()
    score = serializers.CharField(allow_null=True, help_text="decimal percent, by the grading policy")
    grading_policy = serializers.CharField()
    open_attempt_id = serializers.IntegerField(allow_null=True)
    time_limit_minutes = serializers.IntegerField(allow_null=True)
    time_multiplier = serializers.CharField(help_text="decimal")
    pass_mark = serializers.IntegerField()


class CatalogEntrySerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField(allow_blank=True)
    ce_hours = serializers.CharField(help_text="decimal")
    enrolled = serializers.BooleanField()
    open_enrollment = serializers.BooleanField()
    medically_reviewed = serializers.BooleanField()
    progress = ProgressSerializer(allow_null=True)


class CatalogSerializer(serializers.Serializer):
    results = CatalogEntrySerializer(many=True)


class OutlineLessonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    minutes = serializers.IntegerField(required=False, allow_null=True)
    read = serializers.BooleanField()


class OutlineModuleSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    lessons = OutlineLessonSerializer(many=True)
    quiz = QuizStateSerializer(allow_null=True)


class ClinicalUpdateSerializer(serializers.Serializer):
    enrollment_id = serializers.IntegerField()
    version = serializers.IntegerField()
    due_date = serializers.DateField(allow_null=True)
    lessons = OutlineLessonSerializer(many=True)
    quiz = QuizStateSerializer(allow_null=True)


class CourseDetailSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    version = serializers.IntegerField()
    medically_reviewed = serializers.BooleanField()
    medical_reviewer = serializers.CharField(allow_null=True)
    medical_review_date = serializers.DateField(allow_null=True)
    progress = ProgressSerializer()
    modules = OutlineModuleSerializer(many=True)
    final_exam = QuizStateSerializer(allow_null=True)
    clinical_update = ClinicalUpdateSerializer(allow_null=True)


class LessonCompletedSerializer(serializers.Serializer):
    lesson_id = serializers.IntegerField()
    read = serializers.BooleanField()
    progress = ProgressSerializer()


class LessonTooSoonSerializer(ErrorSerializer):
    seconds_remaining = serializers.IntegerField(help_text="reading time still needed before it counts")


class BestAttemptSerializer(serializers.Serializer):
    quiz_id = serializers.IntegerField()
    title = serializers.CharField()
    best_score = serializers.CharField(help_text="decimal percent")
    passed = serializers.BooleanField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)


class TranscriptRowSerializer(serializers.Serializer):
    course = serializers.CharField(help_text="course slug")
    title = serializers.CharField()
    ce_hours = serializers.CharField(help_text="decimal")
    lesson_minutes_recorded = serializers.IntegerField()
    progress = ProgressSerializer()
    next_quiz = QuizStateSerializer(allow_null=True)
    quizzes = BestAttemptSerializer(many=True)


class TranscriptSerializer(serializers.Serializer):
    results = TranscriptRowSerializer(many=True)


class MyCertificateSerializer(serializers.Serializer):
    number = serializers.CharField()
    course = serializers.CharField()
    ce_hours = serializers.CharField(help_text="decimal")
    completed_on = serializers.DateField()
    expires_on = serializers.DateField(allow_null=True)
    status = serializers.CharField(help_text="valid, expired, revoked")
    verify_code = serializers.CharField()
    renews = serializers.CharField(allow_null=True, help_text="the number of the certificate this renews")
    pdf_url = serializers.CharField()


class MyCertificatesSerializer(serializers.Serializer):
    results = MyCertificateSerializer(many=True)


class VerificationSerializer(serializers.Serializer):
    """The same keys for every status; no private data (no revocation reason, no email, no ids)."""

    status = serializers.ChoiceField(choices=["valid", "expired", "revoked", "unknown"])
    number = serializers.CharField(allow_null=True)
    learner_name = serializers.CharField(allow_null=True)
    course = serializers.CharField(allow_null=True)
    ce_hours = serializers.CharField(allow_null=True)
    completed_on = serializers.DateField(allow_null=True)
    expires_on = serializers.DateField(allow_null=True)
    revoked_on = serializers.DateField(allow_null=True)
    renews = serializers.ListField(
        child=serializers.CharField(), help_text="numbers of the certificates renewed"
    )


# --- reports ---------------------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    """A person in a report (runs on the people of one page: a user row with its department)."""

    id = serializers.IntegerField(source="pk")
    name = serializers.CharField(source="get_full_name")
    username = serializers.CharField()
    employee_id = serializers.CharField(allow_null=True)
    department = serializers.CharField(source="department.name", default=None, allow_null=True)
    job_title = serializers.CharField(allow_blank=True)


class MatrixColumnSerializer(serializers.Serializer):
    key = serializers.CharField(help_text='a module key, or "final"')
    title = serializers.CharField()


class MatrixRowSerializer(serializers.Serializer):
    person = PersonSerializer()
    overdue = serializers.BooleanField()
    cells = serializers.DictField(
        child=serializers.CharField(),
        help_text="column key -> exempt, passed, overdue, failed, in_progress, not_started",
    )
    status = serializers.CharField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    progress_percent = serializers.IntegerField(allow_null=True)


class TeamProgressSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    summary = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="people, and with a course: completed, in_progress, not_started, exempt, not_assigned, overdue",
    )
    course = serializers.CharField(allow_null=True)
    columns = MatrixColumnSerializer(many=True)
    results = MatrixRowSerializer(many=True)


class ReportQuizSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class ObjectiveMasterySerializer(serializers.Serializer):
    objective = serializers.CharField()
    facility = serializers.FloatField()
    responses = serializers.IntegerField()


class ItemStatisticsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    version = serializers.IntegerField()
    objective = serializers.CharField()
    type = serializers.CharField()
    responses = serializers.IntegerField()
    facility = serializers.FloatField(allow_null=True)
    discrimination_corrected = serializers.FloatField(allow_null=True)
    discrimination_groups = serializers.FloatField(allow_null=True)
    choice_picks = serializers.DictField(child=serializers.IntegerField(), help_text="choice id -> picks")
    flags = serializers.ListField(child=serializers.CharField())


class ItemAnalysisSerializer(serializers.Serializer):
    quiz = ReportQuizSerializer()
    attempts = serializers.IntegerField()
    pass_rate = serializers.FloatField(allow_null=True)
    average_minutes = serializers.FloatField(allow_null=True)
    histogram = serializers.ListField(child=serializers.IntegerField(), help_text="10 bins of 10 points")
    objectives = ObjectiveMasterySerializer(many=True)
    questions = ItemStatisticsSerializer(many=True)
