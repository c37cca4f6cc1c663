"""Response schemas of the quiz-taking API. The views answer the dicts of quizzes.selectors
(`attempt_for_learner`, `submission_result`) as they are, fast; these serializers describe those dicts
for /api/schema/, and the schemathesis suite checks every body against them.

Before submission an attempt carries no answer key, correctness flag or explanation: `review` (and the
score fields) appear only on a submitted attempt, as the quiz's review policy allows."""

from rest_framework import serializers

from core.serializers import ErrorSerializer


class OptionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque per-attempt id (never the stored choice id)")
    text = serializers.CharField(allow_blank=True)


class ResponseBodySerializer(serializers.Serializer):
    """An answer as the learner gives it (one of the keys, by question type)."""

    choice_ids = serializers.ListField(child=serializers.CharField(), required=False)
    order = serializers.ListField(child=serializers.CharField(), required=False)
    pairs = serializers.DictField(child=serializers.CharField(), required=False)
    value = serializers.JSONField(required=False, allow_null=True, help_text="numeric answer")


class CorrectAnswerSerializer(ResponseBodySerializer):
    tolerance = serializers.JSONField(required=False)
    min = serializers.JSONField(required=False)
    max = serializers.JSONField(required=False)


class ReviewSerializer(serializers.Serializer):
    """After submission only, as the review policy allows: which were wrong (`points`, `is_correct`), and
    with the full review the key, the explanation and the source."""

    points = serializers.CharField(required=False, help_text="decimal, 0 to 1")
    is_correct = serializers.BooleanField(required=False)
    explanation = serializers.CharField(required=False, allow_blank=True)
    explanation_html = serializers.CharField(required=False, allow_blank=True)
    source = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True)
    correct_answer = CorrectAnswerSerializer(required=False)
    feedback = serializers.DictField(child=serializers.CharField(), required=False)


class QuestionPartSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField(
        help_text="single, multiple, true_false, ordering, matching, numeric, scenario"
    )
    stem = serializers.CharField(allow_blank=True)
    stem_html = serializers.CharField(allow_blank=True)
    choices = OptionSerializer(many=True, required=False, help_text="single, multiple, true_false")
    multiple = serializers.BooleanField(required=False)
    items = OptionSerializer(many=True, required=False, help_text="ordering")
    left = OptionSerializer(many=True, required=False, help_text="matching")
    right = OptionSerializer(many=True, required=False, help_text="matching")
    unit = serializers.CharField(required=False, allow_blank=True, help_text="numeric")
    response = ResponseBodySerializer(
        required=False, allow_null=True, help_text="the saved answer, null before one (absent on a scenario)"
    )
    answered = serializers.BooleanField(required=False)
    review = ReviewSerializer(required=False, help_text="only after submission")


class QuestionSerializer(QuestionPartSerializer):
    parts = QuestionPartSerializer(many=True, required=False, help_text="the items of a scenario")


class QuizRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    pass_mark = serializers.IntegerField()
    layout = serializers.CharField()


class GradeFieldsSerializer(serializers.Serializer):
    """What a submitted attempt adds, as the review policy allows."""

    submitted_at = serializers.DateTimeField(required=False, allow_null=True)
    closed_by = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    passed = serializers.BooleanField(required=False, allow_null=True)
    critical_missed_objectives = serializers.ListField(child=serializers.CharField(), required=False)
    score = serializers.CharField(required=False, help_text="decimal percent; only if the policy shows it")
    objectives_to_revisit = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="certifying quizzes"
    )


class AttemptSerializer(GradeFieldsSerializer):
    id = serializers.IntegerField()
    quiz = QuizRefSerializer()
    number = serializers.IntegerField()
    state = serializers.CharField(help_text="in_progress or submitted")
    started_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField(allow_null=True)
    server_now = serializers.DateTimeField()
    seconds_left = serializers.IntegerField(allow_null=True)
    questions = QuestionSerializer(many=True)
    answered = serializers.IntegerField()
    total_items = serializers.IntegerField()


class SubmissionSerializer(GradeFieldsSerializer):
    """The grade; the questions and their review are not repeated (`GET /attempts/{id}/` has them)."""

    id = serializers.IntegerField()
    quiz = QuizRefSerializer()
    number = serializers.IntegerField()
    state = serializers.CharField()
    started_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField(allow_null=True)
    graded_now = serializers.BooleanField(help_text="false: it was graded before (a repeated submit)")


class SavedAnswerSerializer(serializers.Serializer):
    question_id = serializers.IntegerField()
    saved_at = serializers.DateTimeField()


class StartRefusedSerializer(ErrorSerializer):
    """A refused start: the start rule's state and reason (quizzes.eligibility), and when it opens."""

    state = serializers.CharField()
    reason = serializers.CharField()
    retry_at = serializers.DateTimeField(required=False)
