"""Finding 1 (issue 24): the final exam could be passed on keys harvested from practice reviews.

The attacker, through the API only: marks every lesson read as fast as the server allows, sits each
module quiz a dozen times without answering to collect every key the full practice review reveals
(by text: per-attempt ids change, texts do not), then sits the final exam answering from the harvest.

Against the old configuration (a final drawing from the practice banks) the attack passes with 100%;
against a certifying final (reserved exam pool, review by objective, minimum lesson time) it fails.
"""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from courses.catalog import services
from courses.enrollment import services as enrollment_services
from courses.models import LessonProgress
from tests.course_helpers import REAL_COURSE_DIR, TINY_ITEMS_PER_BANK, load_tiny
from tests.factories import UserFactory
from tests.quiz_helpers import flat_payloads

pytestmark = pytest.mark.django_db

SITTINGS = 12


class Attacker:
    def __init__(self, user):
        self.api = APIClient()
        self.api.force_authenticate(user)
        self.by_stem: dict[str, dict] = {}  # stem -> key in texts
        self.correct_texts: set[str] = set()  # any choice text ever shown as correct
        self.refusals: list[dict] = []

    def mark_lessons_read(self, slug: str) -> dict:
        outline = self.api.get(f"/api/v1/courses/{slug}/").json()
        lessons = [lesson["id"] for module in outline["modules"] for lesson in module["lessons"]]
        for lesson_id in lessons:
            response = self.api.post(f"/api/v1/lessons/{lesson_id}/complete/")
            if response.status_code == 409:
                self.refusals.append(response.json())
                # The attacker has to sit the time out: the server measures from the first opening.
                waited = timezone.now() - timedelta(seconds=response.json()["seconds_remaining"] + 1)
                LessonProgress.objects.filter(lesson_id=lesson_id).update(first_opened_at=waited)
                response = self.api.post(f"/api/v1/lessons/{lesson_id}/complete/")
            assert response.status_code == 200, response.content
        return self.api.get(f"/api/v1/courses/{slug}/").json()

    def harvest(self, quiz_id: int) -> None:
        for _ in range(SITTINGS):
            started = self.api.post(f"/api/v1/quizzes/{quiz_id}/attempts/")
            assert started.status_code in (200, 201), started.content
            attempt_id = started.json()["id"]
            assert self.api.post(f"/api/v1/attempts/{attempt_id}/submit/").status_code == 200
            # The submit answer is slim; the review (when the policy allows one) is on the attempt.
            result = self.api.get(f"/api/v1/attempts/{attempt_id}/").json()
            for item in flat_payloads(result):
                self._learn(item)

    def _learn(self, item: dict) -> None:
        key = (item.get("review") or {}).get("correct_answer")
        if key is None:
            return
        if "choice_ids" in key:
            texts = {c["text"] for c in item["choices"] if c["id"] in key["choice_ids"]}
            self.by_stem[item["stem"]] = {"texts": texts}
            self.correct_texts |= texts - {"True", "False"}
        elif "order" in key:
            text = {i["id"]: i["text"] for i in item["items"]}
            self.by_stem[item["stem"]] = {"order": [text[i] for i in key["order"]]}
        elif "pairs" in key:
            left = {i["id"]: i["text"] for i in item["left"]}
            right = {i["id"]: i["text"] for i in item["right"]}
            self.by_stem[item["stem"]] = {"pairs": {left[a]: right[b] for a, b in key["pairs"].items()}}
        else:
            self.by_stem[item["stem"]] = {"value": key.get("value", key.get("min"))}

    def _answer(self, item: dict) -> dict | None:
        known = self.by_stem.get(item["stem"])
        if known is None:
            # Unknown item: pick whatever choice text was a key somewhere else.
            picks = [c["id"] for c in item.get("choices", []) if c["text"] in self.correct_texts]
            return {"choice_ids": picks} if picks else None
        if "texts" in known:
            return {"choice_ids": [c["id"] for c in item["choices"] if c["text"] in known["texts"]]}
        if "order" in known:
            ids = {i["text"]: i["id"] for i in item["items"]}
            return {"order": [ids[t] for t in known["order"] if t in ids]}
        if "pairs" in known:
            left = {i["text"]: i["id"] for i in item["left"]}
            right = {i["text"]: i["id"] for i in item["right"]}
            return {
                "pairs": {left[a]: right[b] for a, b in known["pairs"].items() if a in left and b in right}
            }
        return {"value": known["value"]}

    def sit(self, quiz_id: int) -> dict:
        started = self.api.post(f"/api/v1/quizzes/{quiz_id}/attempts/")
        assert started.status_code == 201, started.content
        attempt = started.json()
        for item in flat_payloads(attempt):
            body = self._answer(item)
            if body:
                saved = self.api.put(
                    f"/api/v1/attempts/{attempt['id']}/answers/{item['id']}/", body, format="json"
                )
                assert saved.status_code == 200, saved.content
        assert self.api.post(f"/api/v1/attempts/{attempt['id']}/submit/").status_code == 200
        return self.api.get(f"/api/v1/attempts/{attempt['id']}/").json()


def play_the_attack(tmp_path, **course_options) -> tuple[Attacker, dict, int]:
    tiny = load_tiny(tmp_path, **course_options)
    learner = UserFactory()
    enrollment_services.enroll(user=learner, course=tiny.course)
    attacker = Attacker(learner)
    outline = attacker.mark_lessons_read(tiny.course.slug)
    for module in outline["modules"]:
        attacker.harvest(module["quiz"]["id"])
    practice_items = TINY_ITEMS_PER_BANK * len(tiny.modules)
    return attacker, attacker.sit(outline["final_exam"]["id"]), practice_items


def test_finding1_harvested_keys_pass_the_old_final(tmp_path):
    """Before: the final draws the practice banks, so the harvest answers every item."""
    attacker, result, practice_items = play_the_attack(tmp_path)
    assert len(attacker.by_stem) == practice_items  # every practice key was revealed by the review
    assert not attacker.refusals
    print(f"\nfinding 1 before: final score {result['score']}%, passed={result['passed']}")
    assert result["passed"] is True and result["score"] == "100.00"


def test_finding1_harvested_keys_fail_the_certifying_final(tmp_path):
    """After: the certifying final draws only the reserved exam pool; lessons take time; the review of
    the final itself names objectives, never keys."""
    attacker, result, practice_items = play_the_attack(
        tmp_path, certifying_final=True, course_extra={"minimum_lesson_percent": 50}
    )
    assert len(attacker.by_stem) == practice_items  # the harvest was as complete as before
    # every lesson refused the instant read and told the attacker how long to wait (90 s of 3 minutes)
    assert len(attacker.refusals) == 4
    assert all(r["code"] == "lesson_minimum_time" and r["seconds_remaining"] >= 89 for r in attacker.refusals)
    print(f"\nfinding 1 after: final score {result['score']}%, passed={result['passed']}")
    assert result["passed"] is False
    assert float(result["score"]) < 80
    # and the failed final taught the attacker nothing new: objectives only, no key to harvest
    assert all("review" not in item for item in flat_payloads(result))
    assert result["objectives_to_revisit"] == ["MA-1", "MB-1"]
    before = len(attacker.by_stem)
    for item in flat_payloads(result):
        attacker._learn(item)
    assert len(attacker.by_stem) == before


@override_settings(COURSE_ALLOW_UNREVIEWED=True)
def test_finding1_the_shipped_final_resists_harvested_keys():
    """The same attack on the real course. Before the fix (measured on the previous main): 195 keys
    harvested, final passed with 100%."""
    report = services.load_course(path=REAL_COURSE_DIR)
    learner = UserFactory()
    enrollment_services.enroll(user=learner, course=report.course)
    attacker = Attacker(learner)
    outline = attacker.mark_lessons_read(report.course.slug)
    for module in outline["modules"]:
        attacker.harvest(module["quiz"]["id"])
    result = attacker.sit(outline["final_exam"]["id"])
    print(f"\nfinding 1 on the shipped course: {len(attacker.by_stem)} keys, final {result['score']}%")
    assert report.version.final_exam.certifying
    assert result["passed"] is False
