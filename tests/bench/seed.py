"""Seed the bench database (run by run_bench.py as `python -m tests.bench.seed`, real app settings).

One quiz of 20 questions drawn from a 20-question bank covering all seven question types (built from
tests/quiz_content.py), learners with API tokens, and attempts started through the real
`services.start_attempt` (so layouts, shuffles and opaque ids are the real thing):

- autosave attempts: one per learner; every answerable item becomes one PUT in `autosave.tsv`
  (path, token, body in the attempt's opaque ids; about 70% right, the rest wrong), shuffled;
- submit batches (one per round): attempts with every item answered (saved rows, exactly what
  `save_answer` stores), listed in `submit-<n>.tsv` (path, token);
- the attempt page's paths (issue 25): each autosave learner also gets a logged-in session and a CSRF
  token, and every PUT of `autosave.tsv` has its page twin in `page-autosave.tsv` (path, cookie, CSRF
  token, the form body the page's htmx sends); page submit batches in `page-submit-<n>.tsv`;
  `sequential.json` names one attempt and one single-choice question for the page-vs-API comparison.
"""

import argparse
import copy
import json
import os
import random
import sys
import time
from pathlib import Path

import django


def bench_specs(count: int = 20) -> list[dict]:
    from tests.quiz_content import ALL_QUESTIONS

    specs = []
    for i in range(count):
        template = ALL_QUESTIONS[i % len(ALL_QUESTIONS)]
        spec = copy.deepcopy(template)
        spec["key"] = f"bench-{i:02d}-{template['key']}"
        spec["stem"] = (
            f"**Case {i + 1}.** A resident on the evening shift shows the signs described in the "
            f"handover notes. {template['stem']}\n\n- Read the chart first.\n- Then answer."
        )
        for j, part in enumerate(spec.get("parts") or []):
            part["key"] = f"{spec['key']}-p{j}"
        specs.append(spec)
    return specs


def learner_view(question, item: dict, choices: dict) -> dict:
    """The ids and texts a learner sees for one item (what selectors.attempt_for_learner shows)."""
    view = {"id": question.pk}
    if question.type in ("single", "multiple", "true_false"):
        view["choices"] = [{"id": t, "text": choices[pk].text} for t, pk in item["choices"]]
    elif question.type == "ordering":
        view["items"] = [{"id": t, "text": choices[pk].text} for t, pk in item["choices"]]
    elif question.type == "matching":
        extra = question.data.get("extra_right", [])

        def right_text(ref):
            if isinstance(ref, str) and ref.startswith("x"):
                return extra[int(ref[1:])]
            return choices[ref].match_text

        view["left"] = [{"id": t, "text": choices[pk].text} for t, pk in item["left"]]
        view["right"] = [{"id": t, "text": right_text(ref)} for t, ref in item["right"]]
    return view


def make_wrong(qtype: str, view: dict, right: dict) -> dict:
    if qtype in ("single", "true_false"):
        others = [c["id"] for c in view["choices"] if c["id"] not in right["choice_ids"]]
        return {"choice_ids": others[:1]}
    if qtype == "multiple":
        return {"choice_ids": [c["id"] for c in view["choices"]][:1]}
    if qtype == "ordering":
        return {"order": list(reversed(right["order"]))}
    if qtype == "matching":
        lefts, rights = list(right["pairs"]), list(right["pairs"].values())
        return {"pairs": dict(zip(lefts, rights[1:] + rights[:1], strict=True))}
    return {"value": float(right["value"]) + 1000}


def form_body(qtype: str, qid: int, view: dict, body: dict) -> str:
    """The urlencoded form the attempt page's htmx posts for one question (frontend/forms.py reads it)."""
    from urllib.parse import urlencode

    fields = [("question", str(qid))]
    name = f"q-{qid}"
    if qtype in ("single", "true_false"):
        fields += [(name, v) for v in body["choice_ids"][:1]]
    elif qtype == "multiple":
        fields += [(f"{name}-present", "1")] + [(name, v) for v in body["choice_ids"]]
    elif qtype == "ordering":
        fields += [(f"{name}-pos-{item}", str(i + 1)) for i, item in enumerate(body["order"])]
    elif qtype == "matching":
        fields += [(f"{name}-match-{left['id']}", body["pairs"].get(left["id"], "")) for left in view["left"]]
    else:
        fields += [(name, str(body["value"]))]
    return urlencode(fields)


def login_cookie(user) -> tuple[str, str]:
    """(Cookie header, CSRF token) of a fresh logged-in session, as the login page would leave it."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.crypto import get_random_string

    from accounts import mfa, sessions

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    # What a password login through the login page records: the backend that checks passwords (not the
    # first in the list, which is the SSO one), and what the user_logged_in receivers store (the
    # session's start and last-seen times, whether the learner has a second factor).
    store[BACKEND_SESSION_KEY] = "accounts.auth.ExpiringSurveyorBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    now = int(time.time())
    store[sessions.STARTED] = store[sessions.SEEN] = now
    store[mfa.SESSION_ENROLLED] = mfa.is_enrolled(user)
    store.create()
    csrf = get_random_string(32)
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}; {settings.CSRF_COOKIE_NAME}={csrf}", csrf


def seed_certificates(users, rng) -> list[str]:
    """Issued certificates (rows as the issuing service stores them; no PDF: verification reads only the
    row) and the verification paths, half valid codes and half unknown ones, shuffled."""
    import secrets

    from django.utils import timezone

    from courses.models import Certificate
    from tests.certificate_helpers import completed_enrollment, make_course

    course = make_course(slug="bench-verify", title="Benchmark course")
    version = course.versions.get(number=1)
    today = timezone.localdate()
    rows = []
    for i, user in enumerate(users):
        enrollment = completed_enrollment(user, course)
        rows.append(
            Certificate(
                number=f"BENCH-{i:06d}",
                verify_code=secrets.token_urlsafe(18),
                user=user,
                enrollment=enrollment,
                version=version,
                learner_name=f"{user.first_name} {user.last_name}",
                course_title=course.title,
                ce_hours=course.ce_hours,
                completed_on=today,
                issued_at=timezone.now(),
            )
        )
    Certificate.objects.bulk_create(rows)
    paths = [f"/api/v1/certificates/verify/{c.verify_code}/" for c in rows]
    paths += [f"/api/v1/certificates/verify/{secrets.token_urlsafe(18)}/" for _ in rows]
    rng.shuffle(paths)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--autosave-users", type=int, default=400)
    parser.add_argument("--submit-batches", type=int, default=3)
    parser.add_argument("--submit-size", type=int, default=2000)
    parser.add_argument("--page-submit-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--certificates", type=int, default=200, help="issued certificates for the verification run"
    )
    parser.add_argument(
        "--prefix", default="bench", help="username prefix (seed more learners into a kept db)"
    )
    args = parser.parse_args()
    django.setup()

    from django.db import transaction
    from django.utils import timezone
    from knox.models import AuthToken

    from accounts.models import User
    from quizzes import services
    from quizzes.models import Answer, Question
    from tests.quiz_content import QUIZ_SETTINGS, correct_response

    rng = random.Random(args.seed)
    t0 = time.monotonic()
    specs = bench_specs()
    spec_by_key = {s["key"]: s for s in specs} | {p["key"]: p for s in specs for p in s.get("parts") or []}
    services.import_bank(key="bench-bank", title="Benchmark bank", questions=specs)
    quiz, _ = services.upsert_quiz(
        key="bench-quiz",
        settings_={**QUIZ_SETTINGS, "title": "Benchmark quiz", "time_limit_minutes": 240},
        draw=[{"bank": "bench-bank", "count": len(specs)}],
    )
    questions = {q.pk: q for q in Question.objects.filter(bank__key="bench-bank").prefetch_related("choices")}
    choices = {c.pk: c for q in questions.values() for c in q.choices.all()}

    total = args.autosave_users + args.submit_batches * (args.submit_size + args.page_submit_size)
    users = User.objects.bulk_create(
        [
            User(username=f"{args.prefix}-{i:05d}", password="!", first_name="Bench", last_name=f"{i}")
            for i in range(total)
        ],
        batch_size=1000,
    )
    from accounts.tokens import build_token

    built = [build_token(u) for u in users]
    AuthToken.objects.bulk_create([row for row, _ in built], batch_size=1000)
    key_of = {row.user_id: secret for row, secret in built}
    print(f"seed: quiz {quiz.pk}, {total} learners in {time.monotonic() - t0:.1f}s", file=sys.stderr)

    def answers_for(attempt, *, with_view=False):
        """[(question id, body in opaque ids)] for every answerable item of the attempt."""
        out = []
        for qid in services.gradable_question_ids(attempt.layout):
            question, item = questions[qid], attempt.layout["items"][str(qid)]
            view = learner_view(question, item, choices)
            body = correct_response(view, spec_by_key[question.key])
            if rng.random() < 0.3:
                body = make_wrong(question.type, view, body)
            out.append((qid, body, question.type, view) if with_view else (qid, body))
        return out

    args.out.mkdir(parents=True, exist_ok=True)
    t1 = time.monotonic()
    lines, page_lines, sequential = [], [], None
    for user in users[: args.autosave_users]:
        attempt, _ = services.start_attempt(user=user, quiz=quiz)
        cookie, csrf = login_cookie(user)
        for qid, body, qtype, view in answers_for(attempt, with_view=True):
            lines.append(
                f"/api/v1/attempts/{attempt.pk}/answers/{qid}/\t{key_of[user.pk]}\t{json.dumps(body)}"
            )
            form = form_body(qtype, qid, view, body)
            page_lines.append(f"/attempts/{attempt.pk}/autosave/\t{cookie}\t{csrf}\t{form}")
            if sequential is None and qtype == "single":
                sequential = {
                    "api_path": f"/api/v1/attempts/{attempt.pk}/answers/{qid}/",
                    "token": key_of[user.pk],
                    "api_body": json.dumps(body),
                    "page_path": f"/attempts/{attempt.pk}/autosave/",
                    "cookie": cookie,
                    "csrf": csrf,
                    "page_body": form,
                }
    order = list(range(len(lines)))
    rng.shuffle(order)
    (args.out / "autosave.tsv").write_text("\n".join(lines[i] for i in order) + "\n")
    (args.out / "page-autosave.tsv").write_text("\n".join(page_lines[i] for i in order) + "\n")
    (args.out / "sequential.json").write_text(json.dumps(sequential))
    print(f"seed: {args.autosave_users} autosave attempts, {len(lines)} distinct PUTs", file=sys.stderr)

    canonical = getattr(services, "_canonical_response", None)
    for batch in range(args.submit_batches):
        start = args.autosave_users + batch * (args.submit_size + args.page_submit_size)
        lines = []
        for user in users[start : start + args.submit_size]:
            with transaction.atomic():
                attempt, _ = services.start_attempt(user=user, quiz=quiz)
                now = timezone.now()
                if canonical is not None:  # the exact rows save_answer stores, without 22 requests each
                    Answer.objects.bulk_create(
                        Answer(
                            attempt=attempt,
                            question_id=qid,
                            response=canonical(attempt.layout["items"][str(qid)], body, field="response"),
                            saved_at=now,
                        )
                        for qid, body in answers_for(attempt)
                    )
                else:
                    for qid, body in answers_for(attempt):
                        services.save_answer(attempt_id=attempt.pk, user=user, question_id=qid, response=body)
            lines.append(f"/api/v1/attempts/{attempt.pk}/submit/\t{key_of[user.pk]}")
        (args.out / f"submit-{batch + 1}.tsv").write_text("\n".join(lines) + "\n")
        start += args.submit_size
        lines = []
        for user in users[start : start + args.page_submit_size]:
            with transaction.atomic():
                attempt, _ = services.start_attempt(user=user, quiz=quiz)
                now = timezone.now()
                Answer.objects.bulk_create(
                    Answer(
                        attempt=attempt,
                        question_id=qid,
                        response=canonical(attempt.layout["items"][str(qid)], body, field="response"),
                        saved_at=now,
                    )
                    for qid, body in answers_for(attempt)
                )
                cookie, csrf = login_cookie(user)
            lines.append(f"/attempts/{attempt.pk}/submit/\t{cookie}\t{csrf}")
        (args.out / f"page-submit-{batch + 1}.tsv").write_text("\n".join(lines) + "\n")
        print(f"seed: submit batch {batch + 1}: {len(lines)} answered attempts", file=sys.stderr)
    verify_paths = seed_certificates(users[: args.certificates], rng)
    (args.out / "verify.txt").write_text("\n".join(verify_paths) + "\n")
    summary = {
        "quiz_id": quiz.pk,
        "certificates": args.certificates,
        "questions_per_attempt": len(specs),
        "items_per_attempt": len(services.gradable_question_ids(attempt.layout)),
        "question_types": sorted({q.type for q in questions.values()}),
        "learners": total,
        "seconds": round(time.monotonic() - t0, 1),
        "attempts_per_second": round((total) / (time.monotonic() - t1), 1),
    }
    (args.out / "seed.json").write_text(json.dumps(summary))
    print(f"seed: done {summary}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.bench.app_settings")
    sys.exit(main())
