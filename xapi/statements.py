"""xAPI 1.0.3 statements, built from the engine's records as plain dicts (pure: no queries, no I/O).

Vocabulary: ADL verbs and activity types (http://adlnet.gov/expapi/...), `earned` from the TinCan
registry. Activity ids are IRIs under XAPI_ACTIVITY_BASE. The actor is an account (XAPI_ACCOUNT_HOMEPAGE,
employee id), never an email unless XAPI_ACTOR_EMAIL is on. Every statement carries the enrollment's
registration (a UUID derived from it) and the course version (`context.revision` and an extension).

No statement carries an answer key: a question's definition never has `correctResponsesPattern`, and
a question's result (after grading only) carries success and score only where the quiz's own review
rule shows the learner which answers were wrong (`quizzes.selectors.review_rules`).
"""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from .config import XapiConfig

XAPI_VERSION = "1.0.3"
PLATFORM = "Staff training engine"
# Fixed namespace of this engine's statement ids; the name adds the account homePage, so two
# installations (staging, production) writing to one LRS never share an id.
STATEMENT_NAMESPACE = uuid.UUID("6f3c0f0e-5b8a-4f0c-9b1e-2d7a4c1e9a51")

VERBS = {
    "experienced": "http://adlnet.gov/expapi/verbs/experienced",
    "attempted": "http://adlnet.gov/expapi/verbs/attempted",
    "answered": "http://adlnet.gov/expapi/verbs/answered",
    "passed": "http://adlnet.gov/expapi/verbs/passed",
    "failed": "http://adlnet.gov/expapi/verbs/failed",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "earned": "http://id.tincanapi.com/verb/earned",
    "voided": "http://adlnet.gov/expapi/verbs/voided",
}
ACTIVITY_TYPES = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "lesson": "http://adlnet.gov/expapi/activities/lesson",
    "assessment": "http://adlnet.gov/expapi/activities/assessment",
    "interaction": "http://adlnet.gov/expapi/activities/cmi.interaction",
}
INTERACTION_TYPES = {
    "single": "choice",
    "multiple": "choice",
    "true_false": "choice",  # answered by choice id, not by "true"/"false"
    "ordering": "sequencing",
    "matching": "matching",
    "numeric": "numeric",
}


def statement_id(cfg: XapiConfig, event: str, *keys) -> str:
    """The same event always gets the same id: a retry, a redelivered task or a second call for one
    event never makes a second statement."""
    name = "|".join([cfg.account_homepage, event, *map(str, keys)])
    return str(uuid.uuid5(STATEMENT_NAMESPACE, name))


def registration(cfg: XapiConfig, enrollment_id: int) -> str:
    return str(uuid.uuid5(STATEMENT_NAMESPACE, f"{cfg.account_homepage}|registration|{enrollment_id}"))


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def duration(seconds: float) -> str:
    return f"PT{max(seconds, 0):.2f}S"


def actor(cfg: XapiConfig, user) -> dict:
    if cfg.actor_email and user.email:
        return {"objectType": "Agent", "mbox": f"mailto:{user.email}"}
    # Users without an employee id (service accounts, demo users) get an opaque, stable name.
    name = user.employee_id or f"user-{user.pk}"
    return {"objectType": "Agent", "account": {"homePage": cfg.account_homepage, "name": name}}


def verb(name: str) -> dict:
    return {"id": VERBS[name], "display": {"en-US": name}}


def _activity(activity_id: str, type_: str, name: str, **definition) -> dict:
    return {
        "objectType": "Activity",
        "id": activity_id,
        "definition": {"type": type_, "name": {"en-US": name}, **definition},
    }


def course_activity(cfg: XapiConfig, course) -> dict:
    return _activity(
        f"{cfg.activity_base}/xapi/activities/course/{course.slug}", ACTIVITY_TYPES["course"], course.title
    )


def lesson_activity(cfg: XapiConfig, course, lesson) -> dict:
    return _activity(
        f"{cfg.activity_base}/xapi/activities/course/{course.slug}/lesson/{lesson.key}",
        ACTIVITY_TYPES["lesson"],
        lesson.title,
    )


def quiz_activity(cfg: XapiConfig, quiz) -> dict:
    return _activity(
        f"{cfg.activity_base}/xapi/activities/quiz/{quiz.key}", ACTIVITY_TYPES["assessment"], quiz.title
    )


def question_activity(cfg: XapiConfig, question) -> dict:
    # The question's key and version only: no stem, no choices' texts, never the correct responses.
    return _activity(
        f"{cfg.activity_base}/xapi/activities/question/{question.key}/v{question.version}",
        ACTIVITY_TYPES["interaction"],
        f"{question.key} v{question.version}",
        interactionType=INTERACTION_TYPES.get(question.type, "other"),
    )


def certificate_activity(cfg: XapiConfig, course) -> dict:
    return _activity(
        f"{cfg.activity_base}/xapi/activities/course/{course.slug}/certificate",
        f"{cfg.activity_base}/xapi/activity-types/certificate",
        f"Certificate: {course.title}",
    )


def context(cfg: XapiConfig, enrollment, *, parents: list[dict] = ()) -> dict:
    """Registration and course version of the enrollment the event belongs to (none: a quiz taken
    outside any course, which only the quiz engine's own tests do)."""
    ctx: dict = {"platform": PLATFORM, "language": "en-US"}
    if enrollment is None:
        return ctx
    version = enrollment.version
    course_ref = {"id": f"{cfg.activity_base}/xapi/activities/course/{version.course.slug}"}
    ctx["registration"] = registration(cfg, enrollment.pk)
    ctx["revision"] = str(version.number)
    ctx["contextActivities"] = {"grouping": [course_ref]}
    if parents:
        ctx["contextActivities"]["parent"] = [{"id": p["id"]} for p in parents]
    ctx["extensions"] = {
        f"{cfg.activity_base}/xapi/extensions/course-version": version.number,
        f"{cfg.activity_base}/xapi/extensions/enrollment-cycle": enrollment.cycle,
    }
    return ctx


def statement(
    cfg: XapiConfig, *, id: str, user, verb_name: str, obj: dict, when: datetime, ctx: dict, result=None
) -> dict:
    body = {
        "id": id,
        "actor": actor(cfg, user),
        "verb": verb(verb_name),
        "object": obj,
        "timestamp": timestamp(when),
        "context": ctx,
        "version": XAPI_VERSION,
    }
    if result is not None:
        body["result"] = result
    return body


def interaction_response(qtype: str, response: dict) -> str | None:
    """The learner's response in xAPI's interaction format (choice primary keys), or None when the
    learner gave none."""
    if not response:
        return None
    if qtype in ("single", "multiple", "true_false"):
        ids = response.get("choice_ids") or []
        return "[,]".join(ids) if ids else None
    if qtype == "ordering":
        order = response.get("order") or []
        return "[,]".join(order) if order else None
    if qtype == "matching":
        pairs = response.get("pairs") or {}
        return "[,]".join(f"{left}[.]{right}" for left, right in sorted(pairs.items())) if pairs else None
    value = response.get("value")
    return None if value in (None, "") else str(value)


def score(points: Decimal, max_points: int, percent: Decimal) -> dict:
    return {
        "scaled": float(round(percent / 100, 4)),
        "raw": float(points),
        "min": 0,
        "max": max_points,
    }
