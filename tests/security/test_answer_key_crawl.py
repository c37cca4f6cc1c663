"""The answer key never reaches the learner before submit: a crawl of every learner page and API response
of a full run through the real course (every lesson, every module quiz and the final exam; every page of
every attempt, htmx autosaves, API saves, review pages, progress and course endpoints).

Every response is checked for every explanation and feedback text of the course's questions (markup and
Markdown stripped; a lesson page may show its own lesson text, which some explanations repeat), for JSON
keys that carry correctness, and for the review markup and "correct" attributes the result page uses.
After each submit the attempt's review may follow the quiz's policy, so only responses received while
the attempt was open are checked."""

import html
import json
import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from courses.catalog import services
from courses.catalog.loader import parse_course_dir
from courses.enrollment import services as enrollment_services
from courses.models import LessonProgress
from quizzes.models import Attempt, Choice, Question
from tests.course_helpers import REAL_COURSE_DIR, course_quizzes, specs_by_key
from tests.factories import UserFactory
from tests.quiz_content import correct_response
from tests.quiz_helpers import flat_payloads, form_fields

pytestmark = pytest.mark.django_db

FORBIDDEN_KEYS = {"correct", "is_correct", "correct_answer", "explanation", "feedback", "answer", "review"}
# (a stem may itself ask "what is the correct answer?": the review's markup is what must be absent)
REVIEW_MARKUP = (
    "review-item",
    'class="explanation"',
    "correct answer</span>",
    "Correct order:</strong>",
    "Accepted:</strong>",
    "badge-passed",
)
CORRECT_ATTRIBUTE = re.compile(r"<[^>]*\b(correct|is-correct|data-correct|is-right)\b[^>]*>", re.I)


def plain(text: str) -> str:
    """Visible text: tags dropped, entities decoded, Markdown emphasis and links reduced, spaces collapsed."""
    text = re.sub(r"<[^>]+>", " ", text)
    text = html.unescape(text)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = re.sub(r"[*_`>#]", "", text)
    return " ".join(text.split()).lower()


def secret_snippets() -> list[tuple[str, str]]:
    snippets = []
    for question in Question.objects.all():
        snippets.append((question.key, plain(question.explanation)[:50]))
    for choice in Choice.objects.exclude(feedback="").select_related("question"):
        snippets.append((f"{choice.question.key} feedback", plain(choice.feedback)[:50]))
    return [(where, s) for where, s in snippets if len(s) >= 20]


def json_keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from json_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_keys(item)


class Crawl:
    def __init__(self, client, api):
        self.client, self.api = client, api
        # (label, kind, body, teaching text the page may show) received before a submit
        self.seen: list[tuple[str, str, str, str]] = []

    def record(self, label: str, response, *, expect=(200,), teaches: str = ""):
        assert response.status_code in expect, (label, response.status_code)
        kind = "json" if response.get("Content-Type", "").startswith("application/json") else "html"
        self.seen.append((label, kind, response.content.decode(), plain(teaches)))
        return response

    def get(self, path: str, *, teaches: str = "", **kwargs):
        return self.record(f"GET {path}", self.client.get(path, **kwargs), teaches=teaches)

    def api_call(self, method: str, path: str, body=None, *, expect=(200,)):
        response = getattr(self.api, method)(path, body, format="json")
        return self.record(f"{method.upper()} {path}", response, expect=expect)

    def leaks(self, snippets) -> list[str]:
        found = []
        for label, kind, body, teaching in self.seen:
            text = plain(body)
            found += [
                f"{label}: text of {where}"
                for where, snippet in snippets
                if snippet in text and snippet not in teaching
            ]
            if kind == "json":
                keys = set(json_keys(json.loads(body))) & FORBIDDEN_KEYS
                found += [f"{label}: JSON key {key!r}" for key in keys]
            else:
                if "/attempts/" in label or "autosave" in label:
                    found += [f"{label}: markup {m!r}" for m in REVIEW_MARKUP if m in body]
                found += [f"{label}: element {m.group(0)[:80]!r}" for m in CORRECT_ATTRIBUTE.finditer(body)]
        return found


@override_settings(COURSE_ALLOW_UNREVIEWED=True)
def test_no_learner_page_or_api_response_reveals_the_key_before_submit(client):
    report = services.load_course(path=REAL_COURSE_DIR)
    specs = specs_by_key(parse_course_dir(REAL_COURSE_DIR))
    learner = UserFactory()
    enrollment_services.enroll(user=learner, course=report.course)
    client.force_login(learner)
    api = APIClient()
    api.force_authenticate(learner)
    crawl = Crawl(client, api)
    slug = report.course.slug
    keys = dict(Question.objects.values_list("pk", "key"))
    quizzes = course_quizzes(report.version)
    pages = items = 0

    crawl.get("/")
    crawl.get(f"/courses/{slug}/")
    crawl.api_call("get", "/api/v1/courses/")
    for module in report.version.modules.order_by("position"):
        for lesson in module.lessons.order_by("position"):
            # A lesson teaches what an explanation later repeats: its own text is not a leak.
            crawl.get(f"/lessons/{lesson.pk}/", teaches=lesson.body)
            # The course's minimum lesson time: the learner spends the lesson's estimate reading it.
            LessonProgress.objects.filter(enrollment__user=learner, lesson=lesson).update(
                first_opened_at=timezone.now() - timedelta(minutes=lesson.minutes)
            )
            crawl.record(f"POST read {lesson.pk}", client.post(f"/lessons/{lesson.pk}/read/"), expect=(302,))
    for quiz in quizzes:
        crawl.get(f"/quizzes/{quiz.pk}/")
        crawl.api_call("get", f"/api/v1/courses/{slug}/")
        started = crawl.record(
            f"POST start {quiz.pk}", client.post(f"/quizzes/{quiz.pk}/start/"), expect=(302,)
        )
        attempt = Attempt.objects.get(user=learner, quiz=quiz, state="in_progress")
        assert started["Location"] == f"/attempts/{attempt.pk}/"
        payload = crawl.api_call("post", f"/api/v1/quizzes/{quiz.pk}/attempts/").json()  # resumes: 200
        total_pages = len(payload["questions"]) if quiz.layout == "one_per_page" else 1
        for page in range(1, total_pages + 1):
            crawl.get(f"/attempts/{attempt.pk}/", data={"page": page})
            pages += 1
        for i, item in enumerate(flat_payloads(payload)):
            body = correct_response(item, specs[keys[item["id"]]])
            if i % 2:
                crawl.api_call("put", f"/api/v1/attempts/{attempt.pk}/answers/{item['id']}/", body)
            else:
                response = client.post(
                    f"/attempts/{attempt.pk}/autosave/",
                    {"question": str(item["id"]), **form_fields(item, body)},
                    HTTP_HX_REQUEST="true",
                )
                crawl.record(f"autosave {attempt.pk}/{item['id']}", response)
            items += 1
        crawl.get(f"/attempts/{attempt.pk}/", data={"page": 1})
        crawl.get(f"/attempts/{attempt.pk}/review/")
        crawl.api_call("get", f"/api/v1/attempts/{attempt.pk}/")
        crawl.api_call("get", "/api/v1/me/progress/")
        crawl.get("/transcript/")
        leaks = crawl.leaks(secret_snippets())
        assert not leaks, leaks[:10]
        crawl.seen.clear()
        submitted = client.post(f"/attempts/{attempt.pk}/submit/")
        assert submitted.status_code == 302
        attempt.refresh_from_db()
        assert attempt.passed, f"{quiz.title}: {attempt.score}"

    assert len(quizzes) == 5 and pages >= 20 and items >= 50, (len(quizzes), pages, items)
    # The crawl can see a leak: the result page after submit shows the review (full policy) it hid before.
    result = client.get(f"/attempts/{Attempt.objects.filter(user=learner).first().pk}/result/")
    assert 'class="explanation"' in result.content.decode()


def test_certifying_final_never_reveals_exam_pool_keys_even_after_submit(client, tmp_path):
    """The reserved exam pool stays reserved after submit too: result page, API, transcript and
    progress show the score and objectives, never an exam item's key, feedback or explanation."""
    from tests.course_helpers import load_tiny, read_all_lessons, take_quiz

    tiny = load_tiny(tmp_path, certifying_final=True)
    learner = UserFactory()
    enrollment_services.enroll(user=learner, course=tiny.course)
    read_all_lessons(learner, tiny.version)
    for module in tiny.modules:
        take_quiz(learner, module.quiz, tiny.specs)
    client.force_login(learner)
    api = APIClient()
    api.force_authenticate(learner)
    crawl = Crawl(client, api)
    final = tiny.version.final_exam
    for correct in (False, True):
        attempt = take_quiz(learner, final, tiny.specs, correct=correct)
        crawl.get(f"/attempts/{attempt.pk}/result/")
        crawl.get(f"/attempts/{attempt.pk}/", follow=True)
        crawl.api_call("get", f"/api/v1/attempts/{attempt.pk}/")
        crawl.api_call("get", "/api/v1/me/progress/")
        crawl.api_call("get", f"/api/v1/courses/{tiny.course.slug}/")
        crawl.get("/transcript/")
        crawl.get(f"/quizzes/{final.pk}/")
    exam_secrets = [
        (where, snippet)
        for where, snippet in secret_snippets()
        if where.startswith(f"{tiny.course.slug}-m") and "-exam-" in where
    ]
    assert len(exam_secrets) >= 8
    leaks = crawl.leaks(exam_secrets)
    # (the result page is not an "/attempts/" label's page before submit; check its review markup here)
    for label, kind, body, _ in crawl.seen:
        if kind == "html":
            leaks += [f"{label}: markup {m!r}" for m in REVIEW_MARKUP if m in body]
    assert not leaks, leaks[:10]
    assert any("Objectives to revisit" in body for _, _, body, _ in crawl.seen)
