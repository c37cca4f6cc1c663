"""Authoring and medical review pages. Thin: reads through selectors, writes through services."""

import datetime
import hashlib
import secrets
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses.catalog.exchange import services as exchange
from courses.models import Course
from quizzes.markdown import render_markdown

from . import access, forms, selectors, services
from .diff import diff_documents
from .documents import course_problems, document_problems, lesson_problems, question_problems, quiz_problems
from .models import Draft, DraftItem, ReviewPacket

Kind = DraftItem.Kind
MAX_IMPORT_BYTES = 2 * 1024 * 1024


def drafts_visible(view):
    """Authors, admins and medical reviewers only: a draft shows answer keys."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not access.can_see_drafts(request.user):
            raise PermissionDenied("Course drafts are for authors and medical reviewers.")
        return view(request, *args, **kwargs)

    return wrapper


def _draft(draft_id) -> Draft:
    return get_object_or_404(Draft, pk=draft_id)


def _item(draft_id, item_id) -> DraftItem:
    return get_object_or_404(
        DraftItem.objects.select_related("draft", "updated_by"), pk=item_id, draft_id=draft_id
    )


def _objectives(draft: Draft) -> dict:
    course = draft.items.filter(kind=Kind.COURSE).first()
    return (course.data.get("objectives") or {}) if course else {}


@require_GET
@drafts_visible
def home(request):
    rows, drafts = selectors.authoring_home()
    return render(
        request,
        "authoring/home.html",
        {"rows": rows, "drafts": drafts, "can_author": access.can_author(request.user)},
    )


@require_POST
@drafts_visible
def start(request):
    try:
        if request.POST.get("course"):
            course = get_object_or_404(Course, pk=request.POST["course"])
            draft = services.start_draft(actor=request.user, course=course)
        else:
            draft = services.start_draft(
                actor=request.user,
                slug=request.POST.get("slug", "").strip(),
                title=request.POST.get("title", ""),
            )
    except services.AuthoringError as exc:
        messages.error(request, exc.message)
        return redirect("authoring:home")
    return redirect("authoring:draft", draft_id=draft.pk)


@require_GET
@drafts_visible
def draft_page(request, draft_id):
    overview = selectors.draft_overview(_draft(draft_id).pk)
    problems = (
        document_problems(services.draft_document(overview.draft)) if request.GET.get("check") else None
    )
    return render(
        request,
        "authoring/draft.html",
        {
            "o": overview,
            "draft": overview.draft,
            "full_problems": problems,
            "can_author": access.can_author(request.user),
            "can_review": access.can_review(request.user),
        },
    )


# --- editing one item -----------------------------------------------------------------------------


def _data_from_post(item: DraftItem, post, objectives) -> tuple[dict, dict[str, list[str]]]:
    """The item's new data and its problems by field (the loader's checks, plus the form's own)."""
    if item.kind == Kind.LESSON:
        data = forms.lesson_from_post(post, item.data)
        return data, lesson_problems(data, objectives=set(objectives))
    if item.kind == Kind.QUESTION:
        data, form_problems = forms.question_from_post(post, item.data)
        found = question_problems(data, objectives=set(objectives))
        if form_problems:
            found.setdefault("answer_yaml", []).extend(form_problems)
        return data, found
    if item.kind in (Kind.MODULE, Kind.FINAL_EXAM):
        if item.kind == Kind.MODULE:
            data, form_problems = forms.module_from_post(post, item.data)
            found = quiz_problems(data["quiz"])
            if not data["title"]:
                found.setdefault("module_title", []).append("title is required")
        else:
            data, form_problems = forms.quiz_from_post(post, item.data)
            found = quiz_problems(data)
        if form_problems:
            found.setdefault("draw", []).extend(form_problems)
        return data, found
    if item.kind == Kind.COURSE:
        data = forms.course_from_post(post, item.data)
        return data, course_problems(data)
    if item.kind == Kind.BANK:
        data = {**item.data, "title": (post.get("title") or "").strip()}
        return data, ({} if data["title"] else {"title": ["title is required"]})
    raise Http404


def _item_context(request, item, data, problems, *, conflict=""):
    objectives = _objectives(item.draft)
    context = {
        "draft": item.draft,
        "item": item,
        "data": data,
        "problems": problems,
        "problem_count": sum(len(v) for v in problems.values()),
        "objectives": objectives,
        "conflict": conflict,
        "editable": item.draft.is_editable and access.can_author(request.user),
        "types": forms.TYPES,
        # names this editing page, so its own autosave never counts as someone else's save
        "editor_token": secrets.token_hex(8),
        "quiz_choices": forms.QUIZ_CHOICES,
    }
    if item.kind == Kind.QUESTION:
        from quizzes.models import Answer

        context.update(
            choice_rows=forms.choice_rows(data),
            pair_rows=forms.pair_rows(data),
            answer_yaml=forms.answer_yaml(data),
            answered=Answer.objects.filter(question__key=item.key).count(),
        )
    if item.kind in (Kind.MODULE, Kind.FINAL_EXAM):
        quiz = data["quiz"] if item.kind == Kind.MODULE else data
        context.update(quiz=quiz, draw_text=forms.draw_text(quiz.get("draw") or []))
    if item.kind == Kind.COURSE:
        context["objectives_text"] = forms.objectives_text(data.get("objectives") or {})
    return context


@require_http_methods(["GET", "POST"])
@drafts_visible
def edit_item(request, draft_id, item_id):
    item = _item(draft_id, item_id)
    objectives = _objectives(item.draft)
    if request.method == "GET":
        data = item.data
        if item.kind == Kind.LESSON:
            problems = lesson_problems(data, objectives=set(objectives))
        elif item.kind == Kind.QUESTION:
            problems = question_problems(data, objectives=set(objectives))
        elif item.kind == Kind.COURSE:
            problems = course_problems(data)
        elif item.kind in (Kind.MODULE, Kind.FINAL_EXAM):
            problems = quiz_problems(data["quiz"] if item.kind == Kind.MODULE else data)
        else:
            problems = {}
        return render(request, "authoring/item.html", _item_context(request, item, data, problems))
    data, problems = _data_from_post(item, request.POST, objectives)
    try:
        saved = services.save_item(
            item_id=item.pk,
            revision=int(request.POST.get("revision") or 0),
            data=data,
            actor=request.user,
            editor=request.POST.get("editor", ""),
        )
    except services.EditConflict as exc:
        context = _item_context(request, exc.item, data, problems, conflict=exc.message)
        return render(request, "authoring/item.html", context, status=409)
    except services.AuthoringError as exc:
        messages.error(request, exc.message)
        return redirect("authoring:draft", draft_id=draft_id)
    if problems:
        messages.warning(request, "Saved, with problems to fix before the draft can go to review.")
        return render(request, "authoring/item.html", _item_context(request, saved, saved.data, problems))
    messages.success(request, "Saved.")
    return redirect("authoring:item", draft_id=draft_id, item_id=item.pk)


@require_POST
@drafts_visible
def autosave(request, draft_id, item_id):
    """htmx: save as the author types; the answer is the save status and the item's new revision."""
    item = _item(draft_id, item_id)
    data, problems = _data_from_post(item, request.POST, _objectives(item.draft))
    status = 200
    try:
        item = services.save_item(
            item_id=item.pk,
            revision=int(request.POST.get("revision") or 0),
            data=data,
            actor=request.user,
            autosave=True,
            editor=request.POST.get("editor", ""),
        )
        message = f"Draft saved at {timezone.localtime(item.updated_at):%H:%M:%S}"
    except services.EditConflict as exc:
        item, message, status = exc.item, exc.message, 409
    except services.AuthoringError as exc:
        message, status = exc.message, 409
    context = {
        "item": item,
        "message": message,
        "conflict": status != 200,
        "problems": problems,
        "problem_count": sum(len(v) for v in problems.values()),
    }
    return render(request, "authoring/partials/save_status.html", context, status=status)


@require_POST
@drafts_visible
def preview(request):
    """The Markdown through the renderer learners see (sanitised)."""
    return HttpResponse(render_markdown(request.POST.get("body", "")[:200_000]))


@require_POST
@drafts_visible
def add_item(request, draft_id):
    draft = _draft(draft_id)
    try:
        if request.POST.get("kind") == Kind.FINAL_EXAM:
            item = services.add_final_exam(draft_id=draft.pk, actor=request.user)
        else:
            item = services.add_item(
                draft_id=draft.pk,
                kind=request.POST.get("kind", ""),
                key=request.POST.get("key", ""),
                parent_key=request.POST.get("parent_key", ""),
                actor=request.user,
            )
    except services.AuthoringError as exc:
        messages.error(request, exc.message)
        return redirect("authoring:draft", draft_id=draft.pk)
    return redirect("authoring:item", draft_id=draft.pk, item_id=item.pk)


@require_POST
@drafts_visible
def remove_item(request, draft_id, item_id):
    item = _item(draft_id, item_id)
    try:
        services.remove_item(
            item_id=item.pk,
            revision=int(request.POST.get("revision") or 0),
            actor=request.user,
            editor=request.POST.get("editor", ""),
        )
        messages.success(request, f"Removed {item.get_kind_display().lower()} {item.key}.")
    except services.AuthoringError as exc:
        messages.error(request, exc.message)
    return redirect("authoring:draft", draft_id=draft_id)


@require_POST
@drafts_visible
def move_item(request, draft_id, item_id):
    item = _item(draft_id, item_id)
    try:
        services.move_item(item_id=item.pk, up=request.POST.get("direction") == "up", actor=request.user)
    except services.AuthoringError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("authoring:draft", args=[draft_id]) + f"#move-{item.pk}")


# --- diff, review, publish ------------------------------------------------------------------------


@require_GET
@drafts_visible
def diff_page(request, draft_id):
    draft = _draft(draft_id)
    after = draft.published_document or services.draft_document(draft)
    diff = diff_documents(services.comparable_base(draft), after)
    return render(request, "authoring/diff.html", {"draft": draft, "diff": diff})


@require_GET
@drafts_visible
def review(request, draft_id):
    page = selectors.review_page(_draft(draft_id).pk)
    return render(
        request,
        "authoring/review.html",
        {
            "page": page,
            "draft": page.draft,
            "can_review": access.can_review(request.user),
            "can_author": access.can_author(request.user),
            "today": timezone.localdate(),
        },
    )


@require_POST
@drafts_visible
def comment(request, draft_id):
    draft = _draft(draft_id)
    try:
        services.add_comment(
            draft_id=draft.pk,
            item_kind=request.POST.get("item_kind", ""),
            item_key=request.POST.get("item_key", ""),
            body=request.POST.get("body", ""),
            actor=request.user,
        )
    except services.AuthoringError as exc:
        messages.error(request, exc.message)
    anchor = f"#item-{request.POST.get('item_kind', '')}-{request.POST.get('item_key', '')}"
    return redirect(reverse("authoring:review", args=[draft.pk]) + anchor)


def _workflow(request, draft_id, action):
    draft = _draft(draft_id)
    try:
        result = action(draft)
    except services.DraftInvalid as exc:
        messages.error(request, exc.message)
        return redirect(reverse("authoring:draft", args=[draft.pk]) + "?check=1")
    except services.AuthoringError as exc:
        messages.error(request, exc.message)
        return None
    return result


@require_POST
@drafts_visible
def submit(request, draft_id):
    outcome = _workflow(
        request, draft_id, lambda d: services.submit_for_review(draft_id=d.pk, actor=request.user)
    )
    if isinstance(outcome, HttpResponse):
        return outcome
    if outcome is not None:
        messages.success(request, "Sent to medical review.")
    return redirect("authoring:draft", draft_id=draft_id)


@require_POST
@drafts_visible
def request_changes(request, draft_id):
    if _workflow(
        request,
        draft_id,
        lambda d: services.request_changes(
            draft_id=d.pk, note=request.POST.get("note", ""), actor=request.user
        ),
    ):
        messages.success(request, "Changes requested; the author has been sent back to editing.")
    return redirect("authoring:review", draft_id=draft_id)


@require_POST
@drafts_visible
def approve(request, draft_id):
    try:
        day = datetime.date.fromisoformat(request.POST.get("review_date", ""))
    except ValueError:
        day = None

    def act(d):
        return services.approve(
            draft_id=d.pk,
            actor=request.user,
            name=request.POST.get("name", ""),
            credential=request.POST.get("credential", ""),
            review_date=day,
        )

    if _workflow(request, draft_id, act):
        messages.success(request, "Approved. An author or an admin can now publish it.")
    return redirect("authoring:review", draft_id=draft_id)


@require_POST
@drafts_visible
def reopen(request, draft_id):
    if _workflow(request, draft_id, lambda d: services.reopen(draft_id=d.pk, actor=request.user)):
        messages.success(request, "Reopened for editing; the approval, if any, has lapsed.")
    return redirect("authoring:draft", draft_id=draft_id)


@require_POST
@drafts_visible
def publish(request, draft_id):
    version = _workflow(request, draft_id, lambda d: services.publish(draft_id=d.pk, actor=request.user))
    if version:
        messages.success(request, f"Published as version {version.number}.")
    return redirect("authoring:draft", draft_id=draft_id)


@require_POST
@drafts_visible
def packet_request(request, draft_id):
    packet = services.request_packet(draft_id=_draft(draft_id).pk, actor=request.user)
    return redirect("authoring:packet", draft_id=draft_id, packet_id=packet.pk)


def _packet(draft_id, packet_id) -> ReviewPacket:
    return get_object_or_404(ReviewPacket.objects.select_related("draft"), pk=packet_id, draft_id=draft_id)


@require_GET
@drafts_visible
def packet_page(request, draft_id, packet_id):
    packet = _packet(draft_id, packet_id)
    template = (
        "authoring/partials/packet_status.html"
        if request.headers.get("HX-Request")
        else "authoring/packet_page.html"
    )
    return render(request, template, {"packet": packet, "draft": packet.draft})


@require_GET
@drafts_visible
def packet_download(request, draft_id, packet_id):
    packet = _packet(draft_id, packet_id)
    if packet.status != ReviewPacket.Status.DONE or not packet.file:
        raise Http404("The packet is not ready.")
    return FileResponse(
        packet.file.open("rb"),
        as_attachment=True,
        filename=f"review-packet-{packet.draft.slug}-{packet.draft_id}-{packet.pk}.pdf",
        content_type="application/pdf",
    )


# --- import into a draft bank -----------------------------------------------------------------------

IMPORT_SESSION = "authoring_import"


@require_http_methods(["GET", "POST"])
@drafts_visible
def import_questions(request, draft_id):
    draft = _draft(draft_id)
    context = {"draft": draft, "formats": sorted(exchange.FORMATS), "objectives": _objectives(draft)}
    if request.method == "GET":
        return render(request, "authoring/import.html", context)
    if not access.can_author(request.user):
        raise PermissionDenied
    if request.POST.get("confirm"):
        stash = request.session.get(IMPORT_SESSION) or {}
        if stash.get("digest") != request.POST.get("confirm") or stash.get("draft") != draft.pk:
            messages.error(request, "The preview has expired; upload the file again.")
            return redirect("authoring:import", draft_id=draft.pk)
        data, options = stash["data"].encode("latin-1"), stash["options"]
    else:
        upload = request.FILES.get("file")
        options = {k: (request.POST.get(k) or "").strip() for k in ("fmt", "bank_key", "objective", "source")}
        options["pool"] = "exam" if request.POST.get("pool") == "exam" else "practice"
        context["options"] = options
        if upload is None or upload.size > MAX_IMPORT_BYTES:
            context["error"] = "Choose a file (at most 2 MB)."
            return render(request, "authoring/import.html", context, status=400)
        if options["fmt"] not in exchange.FORMATS or not services.KEY.match(options["bank_key"]):
            context["error"] = "Choose a format and a bank key (lowercase letters, digits and hyphens)."
            return render(request, "authoring/import.html", context, status=400)
        data = upload.read()
    try:
        plan = services.plan_import(
            draft_id=draft.pk,
            data=data,
            fmt=options["fmt"],
            bank_key=options["bank_key"],
            objective=options["objective"],
            source=options["source"],
        )
    except services.AuthoringError as exc:
        context.update(error=exc.message, options=options)
        return render(request, "authoring/import.html", context, status=400)
    if request.POST.get("confirm"):
        try:
            count = services.import_plan(
                draft_id=draft.pk, plan=plan, actor=request.user, pool=options["pool"]
            )
        except services.AuthoringError as exc:
            messages.error(request, exc.message)
            return redirect("authoring:import", draft_id=draft.pk)
        request.session.pop(IMPORT_SESSION, None)
        messages.success(request, f"Imported {count} question(s) into {', '.join(plan.banks)}.")
        return redirect("authoring:draft", draft_id=draft.pk)
    digest = hashlib.sha256(data + repr(sorted(options.items())).encode()).hexdigest()
    request.session[IMPORT_SESSION] = {
        "digest": digest,
        "draft": draft.pk,
        "data": data.decode("latin-1"),
        "options": options,
    }
    context.update(options=options, plan=plan, questions=plan.questions, refused=plan.refused, digest=digest)
    return render(request, "authoring/import.html", context)
