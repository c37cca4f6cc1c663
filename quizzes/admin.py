"""Quiz content is read-only here: the content files are the source of truth (load_course)."""

from django.contrib import admin

from .models import Answer, Attempt, Choice, DrawRule, Question, QuestionBank, Quiz, QuizOverride


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0
    can_delete = False
    readonly_fields = ("position", "text", "match_text", "correct", "feedback")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(QuestionBank)
class QuestionBankAdmin(ReadOnlyAdmin):
    list_display = ("key", "title")


@admin.register(Question)
class QuestionAdmin(ReadOnlyAdmin):
    list_display = ("key", "version", "is_current", "type", "objective", "critical", "bank")
    list_filter = ("bank", "type", "critical", "is_current")
    search_fields = ("key", "stem")
    inlines = [ChoiceInline]


class DrawRuleInline(admin.TabularInline):
    model = DrawRule
    extra = 0
    can_delete = False
    readonly_fields = ("position", "bank", "objective", "count")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Quiz)
class QuizAdmin(ReadOnlyAdmin):
    list_display = ("title", "key", "kind", "pass_mark", "attempt_limit", "time_limit_minutes")
    inlines = [DrawRuleInline]


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = ("user", "quiz", "number", "state", "score", "passed", "started_at", "submitted_at")
    list_filter = ("state", "passed", "quiz")
    list_select_related = ("user", "quiz")


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin):
    list_display = ("attempt", "question", "points", "saved_at")
    list_select_related = ("attempt", "question")


@admin.register(QuizOverride)
class QuizOverrideAdmin(ReadOnlyAdmin):
    list_display = ("user", "quiz", "kind", "value", "granted_by", "granted_at")
