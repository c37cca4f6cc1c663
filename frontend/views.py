"""Server-rendered learner pages. Thin: read through selectors, write through services."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses.certificates import selectors as certificates_selectors
from courses.enrollment import selectors as course_selectors
from courses.enrollment import services as course_services
from courses.models import Course
from courses.next_step import lesson_button_words
from quizzes import grading
from quizzes import selectors as quiz_selectors
from quizzes import services as quiz_services
from quizzes.errors import AttemptClosed, AttemptNotFound, DeadlinePassed, QuizError
from quizzes.models import Quiz

from .forms import FormAnswerError, flatten, response_from_form, review_flag
from .templatetags.step_tags import step_url


def login_required_htmx(view):
    """Like login_required, but an htmx request with an expired session is sent to the login page with
    the current page as `next`, so the learner lands back where they were."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.headers.get("HX-Request"):
            current = request.headers.get("HX-Current-URL", request.path)
            response = HttpResponse(
                "Your session has expired. Log in again; your saved answers are kept.", status=401
            )
            response["HX-Redirect"] = f"{reverse('login')}?next={current}"
            return response
        return redirect_to_login(request.get_full_path())

    return wrapper


@require_GET
@login_required
def home(request):
    """Each role's home: a surveyor's is the evidence packs (a surveyor takes no training), a
    supervisor's or admin's is their team's action items, everyone else's is My courses."""
    from courses import scope
    from courses.reports import selectors as reports_selectors

    if scope.is_surveyor(request.user):
        return redirect("frontend:team_evidence")
    if scope.can_grant_overrides(request.user):
        return render(
            request,
            "frontend/team/home.html",
            {
                "items": reports_selectors.team_action_items(request.user),
                "own": [e for e in course_selectors.learner_catalog(user=request.user) if e.enrollment],
            },
        )
    return my_courses(request)


@require_GET
@login_required
def my_courses(request):
    from courses import scope

    if scope.is_surveyor(request.user):  # no training, no enrolment for an external surveyor
        return redirect("frontend:team_evidence")
    entries = course_selectors.learner_catalog(user=request.user)
    return render(
        request,
        "frontend/home.html",
        {
            "assigned": [e for e in entries if e.enrollment is not None],
            "open_courses": [e for e in entries if e.enrollment is None],
        },
    )


@require_POST
@login_required
def enroll(request, slug):
    course = get_object_or_404(Course, slug=slug)
    try:
        course_services.self_enroll(user=request.user, course=course)
    except course_services.CourseError as error:
        messages.error(request, error.message)
        return redirect("frontend:home")
    return redirect("frontend:course", slug=slug)


@require_GET
@login_required
def course_detail(request, slug):
    enrollment = course_selectors.enrollment_for_course(user=request.user, slug=slug)
    if enrollment is None:
        raise Http404("No such course.")
    outline = course_selectors.course_outline(enrollment=enrollment)
    awaiting = enrollment.status == "completed" and certificates_selectors.awaits_evaluation(enrollment)
    step = course_selectors.learner_next_step(
        enrollment=enrollment, outline=outline, evaluation_pending=awaiting
    )
    return render(
        request,
        "frontend/course.html",
        {"outline": outline, "course": enrollment.course, "next_step": step},
    )


@require_GET
@login_required
def update_detail(request, enrollment_id):
    """A clinical update enrollment: only the changed lessons and the update quiz."""
    enrollment = course_selectors.clinical_update_for_learner(user=request.user, enrollment_id=enrollment_id)
    if enrollment is None:
        raise Http404("No such update.")
    outline = course_selectors.course_outline(enrollment=enrollment)
    step = course_selectors.learner_next_step(enrollment=enrollment, outline=outline)
    return render(
        request,
        "frontend/course.html",
        {"outline": outline, "course": enrollment.course, "next_step": step},
    )


@require_GET
@login_required
def lesson_detail(request, lesson_id):
    view = course_selectors.lesson_for_learner(user=request.user, lesson_id=lesson_id)
    if view is None:
        raise Http404("No such lesson.")
    course_services.open_lesson(user=request.user, lesson_id=lesson_id)
    outline = course_selectors.course_outline(enrollment=view.enrollment)
    after_reading = course_selectors.learner_next_step(
        enrollment=view.enrollment, outline=outline, after_reading=view.lesson.pk
    )
    return render(
        request,
        "frontend/lesson.html",
        {
            "view": view,
            "course": view.enrollment.course,
            "module_quiz": module_quiz_after(view),
            # Unread: where "Mark as read and ..." leads; read: the course's next step, shown below it.
            "next_step": after_reading,
            "read_words": lesson_button_words(after_reading),
        },
    )


def module_quiz_after(view):
    """The pager's link past a module's last lesson: the module's quiz, in course order (navigation;
    the next step itself is courses.next_step's)."""
    ends_module = view.next is None or view.next.module_id != view.module.pk
    if ends_module and view.enrollment.kind == "regular" and view.module.quiz_id:
        return view.module.quiz
    return None


@require_POST
@login_required_htmx
def lesson_mark_read(request, lesson_id):
    try:
        course_services.complete_lesson(user=request.user, lesson_id=lesson_id)
    except course_services.LessonTooSoon as error:
        messages.warning(request, error.message)
        return redirect("frontend:lesson", lesson_id=lesson_id)
    # Other refusals (not enrolled: 404) are the error page's (core.middleware.DomainErrorMiddleware).
    # The next step (courses.next_step): the next lesson, the module quiz just unlocked, the final exam...
    view = course_selectors.lesson_for_learner(user=request.user, lesson_id=lesson_id)
    outline = course_selectors.course_outline(enrollment=view.enrollment)
    step = course_selectors.learner_next_step(enrollment=view.enrollment, outline=outline)
    return redirect(step_url(step, view.enrollment))


@require_POST
@login_required_htmx
def lesson_ping(request, lesson_id):
    try:
        seconds = int(request.POST.get("seconds", "0"))
        course_services.record_reading_time(user=request.user, lesson_id=lesson_id, seconds=seconds)
    except ValueError:
        return HttpResponse(status=400)
    except course_services.CourseError as error:  # a lesson not mine is "not found", like a missing one
        return HttpResponse(status=error.http_status)
    return HttpResponse(status=204)


def _quiz_context(request, quiz_id):
    quiz = get_object_or_404(Quiz, pk=quiz_id)
    enrollment = course_selectors.enrollment_for_quiz(user=request.user, quiz=quiz)
    if enrollment is None:
        raise Http404("No such quiz.")
    outline = course_selectors.course_outline(enrollment=enrollment)
    state = outline.quiz_state(quiz.pk)
    if state is None:
        raise Http404("No such quiz.")
    return quiz, outline, state


@require_GET
@login_required
def quiz_detail(request, quiz_id):
    quiz, outline, state = _quiz_context(request, quiz_id)
    return render(
        request,
        "frontend/quiz.html",
        {"quiz": quiz, "outline": outline, "state": state, "course": outline.enrollment.course},
    )


@require_POST
@login_required
def quiz_start(request, quiz_id):
    quiz, outline, _ = _quiz_context(request, quiz_id)
    try:
        attempt, _created = course_services.start_quiz_attempt(user=request.user, quiz=quiz)
    except QuizError as error:
        messages.error(request, error.message)
        return redirect("frontend:quiz", quiz_id=quiz.pk)
    return redirect("frontend:attempt", attempt_id=attempt.pk)


def _own_attempt(request, attempt_id):
    try:
        return quiz_selectors.own_attempt(attempt_id=attempt_id, user=request.user)
    except AttemptNotFound as error:
        raise Http404("No such attempt.") from error


def _grade_if_expired(attempt):
    if attempt.is_open and quiz_selectors.is_past_deadline(attempt):
        course_services.expire_quiz_attempt(attempt_id=attempt.pk)
        return True
    return False


def _save_from_form(request, attempt, questions) -> tuple[list[str], dict[int, FormAnswerError]]:
    """Save every question on the submitted page and its review flag. Returns the service's error
    messages and, per question, the form errors that kept an answer from being saved (an ordering with
    two steps in one place)."""
    errors: list[str] = []
    invalid: dict[int, FormAnswerError] = {}
    flagged = set(attempt.flagged or [])
    for question in questions:
        try:
            wanted = review_flag(question, request.POST)
            if wanted is not None and wanted != (question["id"] in flagged):
                flagged = set(
                    quiz_services.set_review_flag(
                        attempt_id=attempt.pk, user=request.user, question_id=question["id"], flagged=wanted
                    )
                )
            try:
                body = response_from_form(question, request.POST)
            except FormAnswerError as error:
                invalid[question["id"]] = error
                continue
            if body is None:
                continue
            answer = course_services.save_quiz_answer(
                attempt_id=attempt.pk, user=request.user, question_id=question["id"], response=body
            )
            question["answered"] = grading.is_answered(
                attempt.layout["items"][str(question["id"])], answer.response
            )
        except (DeadlinePassed, AttemptClosed) as error:
            errors.append(error.message)
            break  # graded or closed: nothing more on this page can be saved
        except QuizError as error:
            errors.append(error.message)
    return errors, invalid


def question_navigator(questions: list[dict], *, one_per_page: bool, page: int, flagged) -> list[dict]:
    """One entry per answerable item, numbered as the questions are (scenario parts count one each)."""
    entries, number = [], 0
    flagged = set(flagged or [])
    for page_number, question in enumerate(questions, start=1):
        for item in question.get("parts") or [question]:
            number += 1
            entries.append(
                {
                    "id": item["id"],
                    "number": number,
                    "page": page_number if one_per_page else 1,
                    "answered": item["answered"],
                    "flagged": item["id"] in flagged,
                    "current": one_per_page and page_number == page,
                    "one_per_page": one_per_page,
                }
            )
    return entries


def _attempt_page_context(attempt, data, *, page: int, invalid=None) -> dict:
    one_per_page = attempt.quiz.layout == Quiz.Layout.ONE_PER_PAGE
    numbered = number_questions(data["questions"])
    shown = [numbered[page - 1]] if one_per_page else numbered
    for error_question, error in (invalid or {}).items():
        for item in flatten(data["questions"]):
            if item["id"] == error_question:
                item["form_error"] = error.message
                item["posted_positions"] = error.positions
    navigator = question_navigator(
        data["questions"], one_per_page=one_per_page, page=page, flagged=attempt.flagged
    )
    on_page = [entry["number"] for entry in navigator if entry["current"]] or [1]
    return {
        "attempt": attempt,
        "data": data,
        "questions": shown,
        "page": page,
        "pages": len(data["questions"]) if one_per_page else 1,
        "one_per_page": one_per_page,
        "quiz": attempt.quiz,
        "navigator": navigator,
        "flagged": set(attempt.flagged or []),
        "first_on_page": on_page[0],
        "last_on_page": on_page[-1],
        "invalid": invalid or {},
    }


@require_http_methods(["GET", "POST"])
@login_required
def attempt_page(request, attempt_id):
    attempt = _own_attempt(request, attempt_id)
    if _grade_if_expired(attempt):
        messages.warning(request, "Time ran out: the attempt was graded with the answers saved in time.")
        return redirect("frontend:attempt_result", attempt_id=attempt.pk)
    if not attempt.is_open:
        messages.info(request, "This attempt has already been submitted.")
        return redirect("frontend:attempt_result", attempt_id=attempt.pk)
    data = quiz_selectors.attempt_for_learner(attempt)
    one_per_page = attempt.quiz.layout == Quiz.Layout.ONE_PER_PAGE
    pages = data["questions"] if one_per_page else [data["questions"]]
    try:
        page = min(max(int(request.GET.get("page", request.POST.get("page", "1"))), 1), len(pages))
    except ValueError:
        page = 1
    shown = [pages[page - 1]] if one_per_page else pages[0]
    if request.method == "POST":
        errors, invalid = _save_from_form(request, attempt, flatten(shown))
        for message in errors:
            messages.error(request, message)
        target = request.POST.get("go", "stay")
        attempt.refresh_from_db()
        if not attempt.is_open:
            return redirect("frontend:attempt_result", attempt_id=attempt.pk)
        if invalid:
            # Stay on the page with what the learner typed, so they can fix it rather than retype it.
            fresh = quiz_selectors.attempt_for_learner(attempt)
            context = _attempt_page_context(attempt, fresh, page=page, invalid=invalid)
            return render(request, "frontend/attempt.html", context, status=400)
        if errors:
            return redirect(f"{reverse('frontend:attempt', args=[attempt.pk])}?page={page}")
        if target == "review":
            return redirect("frontend:attempt_review", attempt_id=attempt.pk)
        if target == "next" and page < len(pages):
            page += 1
        elif target == "previous" and page > 1:
            page -= 1
        elif target.startswith("page-") and target[5:].isdigit():
            page = min(max(int(target[5:]), 1), len(pages))
        return redirect(f"{reverse('frontend:attempt', args=[attempt.pk])}?page={page}")
    return render(request, "frontend/attempt.html", _attempt_page_context(attempt, data, page=page))


def number_questions(questions: list[dict]) -> list[tuple[int, dict]]:
    """(number of the first item, question): a scenario's parts take one number each; a scenario also
    gets `last_number`, the number of its last part."""
    numbered, number = [], 0
    for question in questions:
        numbered.append((number + 1, question))
        number += len(question.get("parts") or [question])
        if question.get("parts"):
            question["last_number"] = number
    return numbered


@require_POST
@login_required_htmx
def attempt_autosave(request, attempt_id):
    """One question's autosave from the page: the same service as the API (ownership, open attempt,
    deadline plus grace, ids), fed by the form through the question's ids only. Nothing of the attempt's
    texts is loaded or rendered; the answer is the one-line save status with the question's answered
    state for the navigator."""
    invalid = []

    def body_from_form(item):
        try:
            return response_from_form(item, request.POST)
        except FormAnswerError as error:  # e.g. two steps in one place: nothing is saved
            invalid.append(error)
            raise QuizError(error.message) from error

    try:
        saved = course_services.save_quiz_answer(
            attempt_id=attempt_id,
            user=request.user,
            question_id=request.POST.get("question", ""),
            response=body_from_form,
        )
    except AttemptNotFound as error:
        raise Http404("No such attempt.") from error
    except QuizError as error:
        return render(
            request,
            "frontend/partials/save_status.html",
            {"ok": False, "message": error.message},
            status=400 if invalid else error.http_status,
        )
    question = {"id": saved.question_id, "type": saved.type, "answered": saved.answered}
    wanted = review_flag(question, request.POST)
    if wanted is not None and wanted != (saved.question_id in saved.flagged):
        quiz_services.set_review_flag(
            attempt_id=saved.attempt_id, user=request.user, question_id=saved.question_id, flagged=wanted
        )
    return render(
        request,
        "frontend/partials/save_status.html",
        {"ok": True, "now": saved.saved_at, "question": question},
    )


@require_POST
@login_required_htmx
def attempt_flag(request, attempt_id):
    """Flag or unflag one question for review; answers with its navigator entry."""
    attempt = _own_attempt(request, attempt_id)
    try:
        quiz_services.set_review_flag(
            attempt_id=attempt.pk,
            user=request.user,
            question_id=request.POST.get("question"),
            flagged=bool(request.POST.get(f"flag-{request.POST.get('question')}")),
        )
    except AttemptNotFound as error:
        raise Http404("No such attempt.") from error
    except QuizError as error:
        return HttpResponse(error.message, status=error.http_status)
    attempt.refresh_from_db()
    data = quiz_selectors.attempt_for_learner(attempt)
    one_per_page = attempt.quiz.layout == Quiz.Layout.ONE_PER_PAGE
    try:
        page = int(request.POST.get("page", "1"))
    except ValueError:
        page = 1
    entries = question_navigator(
        data["questions"], one_per_page=one_per_page, page=page, flagged=attempt.flagged
    )
    entry = next(e for e in entries if str(e["id"]) == request.POST.get("question"))
    return render(request, "frontend/partials/nav_item.html", {"entry": entry, "attempt": attempt})


@require_GET
@login_required
def attempt_review(request, attempt_id):
    attempt = _own_attempt(request, attempt_id)
    if _grade_if_expired(attempt) or not attempt.is_open:
        return redirect("frontend:attempt_result", attempt_id=attempt.pk)
    data = quiz_selectors.attempt_for_learner(attempt)
    one_per_page = attempt.quiz.layout == Quiz.Layout.ONE_PER_PAGE
    navigator = question_navigator(
        data["questions"], one_per_page=one_per_page, page=0, flagged=attempt.flagged
    )
    return render(
        request,
        "frontend/attempt_review.html",
        {
            "attempt": attempt,
            "data": data,
            "unanswered": [entry for entry in navigator if not entry["answered"]],
            "flagged": [entry for entry in navigator if entry["flagged"]],
            "total": len(navigator),
            "quiz": attempt.quiz,
        },
    )


@require_POST
@login_required
def attempt_submit(request, attempt_id):
    # The service locks the learner's own attempt (not found otherwise): no separate read first.
    try:
        outcome = course_services.submit_quiz_attempt(attempt_id=attempt_id, user=request.user)
    except AttemptNotFound as error:
        raise Http404("No such attempt.") from error
    if not outcome.graded_now:
        messages.info(request, "This attempt was already submitted; here is its result.")
    return redirect("frontend:attempt_result", attempt_id=outcome.attempt.pk)


@require_GET
@login_required
def attempt_result(request, attempt_id):
    attempt = _own_attempt(request, attempt_id)
    if _grade_if_expired(attempt):
        attempt = _own_attempt(request, attempt_id)
    if attempt.is_open:
        return redirect("frontend:attempt", attempt_id=attempt.pk)
    data = quiz_selectors.attempt_for_learner(attempt)
    quiz, outline, state = _quiz_context(request, attempt.quiz_id)
    lessons_to_revisit = []
    if attempt.passed is False:
        missed = course_selectors.missed_objectives(attempt=attempt)
        lessons_to_revisit = [
            lesson for lesson in outline.all_lessons if set(lesson.objectives) & set(missed)
        ]
    step = course_selectors.learner_next_step(enrollment=outline.enrollment, outline=outline)
    return render(
        request,
        "frontend/attempt_result.html",
        {
            "next_step": step,
            "attempt": attempt,
            "data": data,
            "quiz": quiz,
            "state": state,
            "outline": outline,
            "numbered": number_questions(data["questions"]),
            "course": outline.enrollment.course,
            "review": quiz_selectors.review_rules(quiz),
            "lessons_to_revisit": lessons_to_revisit,
        },
    )


@require_GET
@login_required
def transcript(request):
    rows = course_selectors.transcript(user=request.user)
    return render(request, "frontend/transcript.html", {"rows": rows, "now": timezone.now()})


# --- certificates and evaluation ------------------------------------------------------------------

from django.http import FileResponse  # noqa: E402

from courses.certificates import services as certificate_services  # noqa: E402
from courses.models import Certificate, CourseEvaluation  # noqa: E402


@require_GET
@login_required
def my_certificates(request):
    return render(
        request,
        "frontend/certificates.html",
        {
            "certificates": certificates_selectors.certificates_for(user=request.user),
            "awaiting_evaluation": certificates_selectors.enrollments_awaiting_evaluation(user=request.user),
            "today": timezone.localdate(),
        },
    )


@require_GET
@login_required
def certificate_pdf(request, certificate_id):
    certificate = Certificate.objects.filter(pk=certificate_id, user=request.user).first()
    if certificate is None:
        raise Http404("No such certificate.")
    paper = request.GET.get("paper", "")
    revoked = certificate.revoked_at is not None
    if (
        revoked
        or (
            paper in certificate_services.PAPER_SIZES
            and paper != certificate_services.settings.CERTIFICATE_PAPER
        )
        or not (certificate.pdf)
    ):
        data = certificate_services.render_pdf_bytes(certificate, paper=paper, revoked=revoked)
        response = HttpResponse(data, content_type="application/pdf")
    else:
        response = FileResponse(certificate.pdf.open("rb"), content_type="application/pdf")
    suffix = "-REVOKED" if revoked else ""
    response["Content-Disposition"] = f'attachment; filename="{certificate.number}{suffix}.pdf"'
    return response


@require_http_methods(["GET", "POST"])
@login_required
def course_evaluation(request, slug):
    enrollment = course_selectors.enrollment_for_course(user=request.user, slug=slug)
    if enrollment is None or enrollment.status != "completed":
        raise Http404("No completed course to evaluate.")
    existing = CourseEvaluation.objects.filter(enrollment=enrollment).first()
    errors = {}
    if request.method == "POST" and existing is None:
        ratings = {key: request.POST.get(key) for key in CourseEvaluation.RATING_QUESTIONS}
        try:
            certificate_services.submit_evaluation(
                user=request.user,
                enrollment_id=enrollment.pk,
                ratings=ratings,
                comments=request.POST.get("comments", ""),
            )
        except certificate_services.CertificateError as error:
            errors = error.field_errors or {"__all__": error.message}
        else:
            messages.success(request, "Thank you. Your certificate is being prepared.")
            return redirect("frontend:certificates")
    return render(
        request,
        "frontend/evaluation.html",
        {
            "enrollment": enrollment,
            "course": enrollment.course,
            "existing": existing,
            "errors": errors,
            "questions": CourseEvaluation.RATING_QUESTIONS.items(),
            "posted": request.POST,
        },
    )
