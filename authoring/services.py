"""Every write of authoring: one transaction each, audited, domain errors on refusal.

Optimistic locking: an item's save names the revision the editor started from; the save is one
conditional UPDATE (`WHERE revision = <that revision>`), so of two authors saving the same item at
once, PostgreSQL lets exactly one through and the other is told who saved first. Nothing is silently
overwritten; autosaves take the same path."""

import copy
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core import audit
from core.errors import DomainError
from courses.catalog.exchange.course_folder import course_document, write_document
from courses.catalog.loader import KEY
from courses.models import Course, CourseVersion
from quizzes.models import Question

from . import access
from .documents import FINAL_EXAM_KEY, document_from_items, document_problems, items_from_document
from .models import Draft, DraftItem, ReviewComment, ReviewPacket

Kind = DraftItem.Kind


class AuthoringError(DomainError):
    """The authoring family of domain errors (core.errors): refusals with a message for people."""

    code = "authoring_refused"


class NotAllowed(AuthoringError):
    http_status = 403
    code = "not_allowed"


class EditConflict(AuthoringError):
    """Someone else saved the item since this editor loaded it."""

    http_status = 409
    code = "edit_conflict"

    def __init__(self, item: DraftItem):
        who = item.updated_by.display_name if item.updated_by else "someone"
        when = timezone.localtime(item.updated_at).strftime("%H:%M:%S")
        super().__init__(
            f"{who} saved this {item.get_kind_display().lower()} at {when} while you were editing it "
            f"(now revision {item.revision}). Your changes are not saved: copy them, reload the page and "
            "apply them again."
        )
        self.item = item


class DraftInvalid(AuthoringError):
    code = "draft_invalid"

    def __init__(self, problems: list[str]):
        super().__init__(f"The draft has {len(problems)} problem(s); fix them first.")
        self.problems = problems


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotAllowed(message)


def _lock_draft(draft_id: int) -> Draft:
    return Draft.objects.select_for_update().get(pk=draft_id)


def _require_editable(draft: Draft) -> None:
    if not draft.is_editable:
        raise AuthoringError(
            f"The draft is {draft.get_status_display().lower()}: it cannot be edited now"
            + (" (reopen it for editing first)." if draft.status != Draft.Status.PUBLISHED else ".")
        )


def fresh_revision_document(document: dict) -> dict:
    """A new revision starts with no clinically significant flag set (FORMAT.md: a flag left on from
    the previous revision would re-train everyone for a minor edit) and no medical review."""
    document = copy.deepcopy(document)
    document["course"]["medical_review"] = {"reviewer": "", "date": None}
    for module in document["modules"]:
        for lesson in module["lessons"]:
            lesson["clinically_significant"] = False
    for bank in document["banks"]:
        for question in bank["questions"]:
            question.pop("clinically_significant", None)
            for part in question.get("parts") or []:
                part.pop("clinically_significant", None)
    return document


def comparable_base(draft: Draft) -> dict:
    """The base version as the draft began from it (flags cleared, no review), so the diff shows what
    the author changed and which changes the author marked clinically significant in this revision."""
    return fresh_revision_document(draft.base_document) if draft.base_document else {}


def new_course_document(*, slug: str, title: str) -> dict:
    return {
        "course": {
            "slug": slug,
            "title": title,
            "summary": "",
            "ce_hours": 0.0,
            "provider_approval_number": "",
            "accrediting_statement": "",
            "validity_months": 12,
            "open_enrollment": False,
            "minimum_lesson_percent": 0,
            "medical_review": {"reviewer": "", "date": None},
            "objectives": {},
            "skills": [],
        },
        "modules": [],
        "final_exam": None,
        "banks": [],
    }


def _jsonable(document: dict) -> dict:
    import json

    return json.loads(json.dumps(document, default=str))


@transaction.atomic
def start_draft(*, actor, course: Course | None = None, slug: str = "", title: str = "", now=None) -> Draft:
    """A draft from the course's published version (else its latest), or an empty new course."""
    _require(access.can_author(actor), "Only an author or an admin starts a draft.")
    now = now or timezone.now()
    if course is not None:
        slug = course.slug
        base = (
            course.versions.filter(status=CourseVersion.Status.PUBLISHED).first()
            or course.versions.order_by("-number").first()
        )
        base_document = _jsonable(course_document(base)) if base else {}
        document = (
            fresh_revision_document(base_document)
            if base
            else new_course_document(slug=slug, title=course.title)
        )
    else:
        if not KEY.match(slug or ""):
            raise AuthoringError("The course key must be lowercase letters, digits and hyphens.")
        if Course.objects.filter(slug=slug).exists():
            raise AuthoringError(f"A course {slug} exists already: start a draft from it instead.")
        if not (title or "").strip():
            raise AuthoringError("A new course needs a title.")
        base, base_document = None, {}
        document = new_course_document(slug=slug, title=title.strip())
    if Draft.objects.filter(slug=slug).exclude(status=Draft.Status.PUBLISHED).exists():
        raise AuthoringError(f"{slug} already has an open draft: continue that one.")
    draft = Draft.objects.create(
        slug=slug,
        course=course,
        base_version=base,
        base_document=base_document,
        created_by=actor,
        created_at=now,
    )
    DraftItem.objects.bulk_create(
        DraftItem(draft=draft, updated_by=actor, updated_at=now, **row)
        for row in items_from_document(document)
    )
    audit.record(
        action="draft.started",
        target=draft,
        actor=actor,
        now=now,
        data={"course": slug, "base_version": base.number if base else None},
    )
    return draft


def _audit_item(action: str, item: DraftItem, *, actor, now, **extra) -> None:
    audit.record(
        action=action,
        target=item,
        actor=actor,
        now=now,
        data={"draft": item.draft_id, "kind": item.kind, "key": item.key, "revision": item.revision, **extra},
    )


@transaction.atomic
def save_item(
    *, item_id: int, revision: int, data: dict, actor, autosave: bool = False, editor: str = "", now=None
) -> DraftItem:
    """Store an item's new content if nobody saved it since `revision` (else EditConflict). The content
    may still have problems (a draft is work in progress); submitting for review needs none.

    `editor` names the editing page (a random token per page load): a save from the page that made the
    last save is that page's own newer state (its Save button racing its own autosave), not a conflict."""
    _require(access.can_author(actor), "Only an author or an admin edits drafts.")
    now = now or timezone.now()
    # The row lock orders a page's Save behind its own autosave sent at the same moment (a blur fires
    # both), so the second sees the first's revision and editor; the conditional UPDATE stays the guard.
    item = (
        DraftItem.objects.select_for_update(of=("self",))
        .select_related("draft", "updated_by")
        .get(pk=item_id)
    )
    _require_editable(item.draft)
    data = _jsonable(data)
    if item.kind == Kind.COURSE:
        data["slug"] = item.key
    elif item.kind != Kind.FINAL_EXAM:
        data["key"] = item.key  # keys are stable forever (FORMAT.md): never changed by an edit
    same_editor = bool(editor) and item.last_editor == editor and item.updated_by_id == actor.pk
    if item.revision != revision and not same_editor:
        raise EditConflict(item)
    if item.data == data:
        return item
    # One conditional UPDATE: of two parallel saves from the revision read above, one matches.
    updated = DraftItem.objects.filter(pk=item_id, revision=item.revision).update(
        data=data, revision=F("revision") + 1, updated_by=actor, updated_at=now, last_editor=editor[:32]
    )
    item = DraftItem.objects.select_related("draft", "updated_by").get(pk=item_id)
    if not updated:
        raise EditConflict(item)
    _audit_item("draft.item_saved", item, actor=actor, now=now, autosave=autosave)
    return item


def _question_key_taken(key: str, bank_key: str) -> bool:
    """A key names one question forever: a new question may not take a key used in another bank."""
    return Question.objects.filter(key=key).exclude(bank__key=bank_key).exists()


NEW_ITEM_DATA = {
    Kind.LESSON: lambda key: {
        "key": key,
        "title": "",
        "minutes": 5,
        "objectives": [],
        "sources": [],
        "clinically_significant": False,
        "body": "",
    },
    Kind.QUESTION: lambda key: {
        "key": key,
        "type": "single",
        "objective": "",
        "difficulty": 2,
        "critical": False,
        "source": "",
        "stem": "",
        "explanation": "",
        "choices": [
            {"text": "", "correct": True},
            {"text": "", "correct": False},
            {"text": "", "correct": False},
        ],
    },
    Kind.BANK: lambda key: {"key": key, "title": key, "pool": "practice"},
    Kind.MODULE: lambda key: {
        "key": key,
        "title": key,
        "quiz": {
            "key": f"{key}-quiz",
            "title": "Module quiz",
            "pass_mark": 80,
            "time_limit_minutes": None,
            "attempt_limit": None,
            "cooldown_minutes": 0,
            "grading_policy": "highest",
            "review_policy": "full",
            "layout": "one_per_page",
            "shuffle_questions": True,
            "shuffle_choices": True,
            "require_lessons_read": True,
            "remediation_extra_questions": 0,
            "certifying": False,
            "draw": [],
        },
    },
}


@transaction.atomic
def add_item(*, draft_id: int, kind: str, key: str, parent_key: str = "", actor, now=None) -> DraftItem:
    """A new lesson (in a module), question (in a bank), bank or module, at the end, with empty content."""
    _require(access.can_author(actor), "Only an author or an admin edits drafts.")
    now = now or timezone.now()
    draft = _lock_draft(draft_id)
    _require_editable(draft)
    key = (key or "").strip()
    if kind not in NEW_ITEM_DATA:
        raise AuthoringError(f"Cannot add a {kind}.")
    if not KEY.match(key):
        raise AuthoringError("The key must be lowercase letters, digits and hyphens (it never changes).")
    if draft.items.filter(kind=kind, key=key).exists():
        raise AuthoringError(f"This draft already has a {kind} {key}.")
    parent_kind = {Kind.LESSON: Kind.MODULE, Kind.QUESTION: Kind.BANK}.get(kind)
    if parent_kind and not draft.items.filter(kind=parent_kind, key=parent_key).exists():
        raise AuthoringError(f"No {parent_kind} {parent_key} in this draft.")
    if kind == Kind.QUESTION and _question_key_taken(key, parent_key):
        raise AuthoringError(f"The key {key} belongs to a question in another bank; choose a new key.")
    siblings = draft.items.filter(kind=kind, parent_key=parent_key if parent_kind else "")
    item = DraftItem.objects.create(
        draft=draft,
        kind=kind,
        key=key,
        parent_key=parent_key if parent_kind else "",
        position=(max(siblings.values_list("position", flat=True), default=-1) + 1),
        data=NEW_ITEM_DATA[kind](key),
        updated_by=actor,
        updated_at=now,
    )
    _audit_item("draft.item_added", item, actor=actor, now=now)
    return item


@transaction.atomic
def add_questions(
    *,
    draft_id: int,
    bank_key: str,
    bank_title: str,
    questions: list[dict],
    actor,
    pool: str = "practice",
    now=None,
):
    """Imported questions into the draft's bank `bank_key` (created if new, in `pool`): all of them, or none."""
    _require(access.can_author(actor), "Only an author or an admin edits drafts.")
    now = now or timezone.now()
    draft = _lock_draft(draft_id)
    _require_editable(draft)
    bank = draft.items.filter(kind=Kind.BANK, key=bank_key).first()
    if bank is None:
        bank = DraftItem.objects.create(
            draft=draft,
            kind=Kind.BANK,
            key=bank_key,
            position=draft.items.filter(kind=Kind.BANK).count(),
            data={"key": bank_key, "title": bank_title or bank_key, "pool": pool},
            updated_by=actor,
            updated_at=now,
        )
        _audit_item("draft.item_added", bank, actor=actor, now=now)
    taken = set(draft.items.filter(kind=Kind.QUESTION).values_list("key", flat=True))
    clashes = [q["key"] for q in questions if q["key"] in taken or _question_key_taken(q["key"], bank_key)]
    if clashes:
        raise AuthoringError(f"Question key(s) already used: {', '.join(clashes)}; nothing was imported.")
    start = draft.items.filter(kind=Kind.QUESTION, parent_key=bank_key).count()
    created = DraftItem.objects.bulk_create(
        DraftItem(
            draft=draft,
            kind=Kind.QUESTION,
            key=q["key"],
            parent_key=bank_key,
            position=start + i,
            data=_jsonable(q),
            updated_by=actor,
            updated_at=now,
        )
        for i, q in enumerate(questions)
    )
    audit.record(
        action="draft.questions_imported",
        target=draft,
        actor=actor,
        now=now,
        data={"bank": bank_key, "keys": [q["key"] for q in questions]},
    )
    return created


@transaction.atomic
def remove_item(*, item_id: int, revision: int, actor, editor: str = "", now=None) -> None:
    """Remove a lesson, question, module (with its lessons) or bank (with its questions) from the draft."""
    _require(access.can_author(actor), "Only an author or an admin edits drafts.")
    now = now or timezone.now()
    item = DraftItem.objects.select_related("draft", "updated_by").get(pk=item_id)
    _lock_draft(item.draft_id)
    _require_editable(item.draft)
    if item.kind in (Kind.COURSE,):
        raise AuthoringError("The course settings cannot be removed.")
    same_editor = bool(editor) and item.last_editor == editor and item.updated_by_id == actor.pk
    if item.revision != revision and not same_editor:
        raise EditConflict(item)
    child_kind = {Kind.MODULE: Kind.LESSON, Kind.BANK: Kind.QUESTION}.get(item.kind)
    if child_kind:
        DraftItem.objects.filter(draft=item.draft, kind=child_kind, parent_key=item.key).delete()
    _audit_item("draft.item_removed", item, actor=actor, now=now)
    item.delete()


@transaction.atomic
def move_item(*, item_id: int, up: bool, actor, now=None) -> DraftItem:
    """Swap a module, lesson, bank or question with its neighbour (lessons and questions stay in their
    module or bank): the order learners read lessons and modules in."""
    _require(access.can_author(actor), "Only an author or an admin edits drafts.")
    now = now or timezone.now()
    item = DraftItem.objects.select_related("draft").get(pk=item_id)
    _lock_draft(item.draft_id)
    _require_editable(item.draft)
    siblings = list(
        DraftItem.objects.filter(draft=item.draft, kind=item.kind, parent_key=item.parent_key).order_by(
            "position", "key"
        )
    )
    index = next(i for i, s in enumerate(siblings) if s.pk == item.pk)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(siblings):
        return item
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            DraftItem.objects.filter(pk=sibling.pk).update(position=position)
    item.refresh_from_db()
    _audit_item("draft.item_moved", item, actor=actor, now=now, position=item.position)
    return item


@transaction.atomic
def add_final_exam(*, draft_id: int, actor, now=None) -> DraftItem:
    now = now or timezone.now()
    _require(access.can_author(actor), "Only an author or an admin edits drafts.")
    draft = _lock_draft(draft_id)
    _require_editable(draft)
    quiz = NEW_ITEM_DATA[Kind.MODULE](FINAL_EXAM_KEY)["quiz"]
    quiz.update(
        key=FINAL_EXAM_KEY, title="Final exam", certifying=True, review_policy="objectives", attempt_limit=3
    )
    item, _ = DraftItem.objects.get_or_create(
        draft=draft,
        kind=Kind.FINAL_EXAM,
        key=FINAL_EXAM_KEY,
        defaults={"data": quiz, "updated_by": actor, "updated_at": now},
    )
    return item


@dataclass
class DraftImportPlan:
    """What an upload would add to a draft; nothing is written until `import_plan`."""

    questions: list  # courses exchange ImportedQuestion, each with `.bank` set when accepted
    banks: dict[str, tuple[str, list[dict]]] = field(default_factory=dict)  # key -> (title, specs)

    @property
    def refused(self) -> list:
        return [q for q in self.questions if q.status == "refused"]

    @property
    def accepted(self) -> int:
        return sum(len(specs) for _, specs in self.banks.values())


def plan_import(
    *, draft_id: int, data: bytes, fmt: str, bank_key: str, objective: str = "", source: str = ""
):
    """Parse an upload with the exchange parsers and check it against the draft (objectives, keys used in
    the draft or in another bank). Moodle categories become banks as on the command line. Read only."""
    from courses.catalog.exchange import services as exchange

    draft = Draft.objects.get(pk=draft_id)
    parsed = exchange.parse_file(
        data, fmt=fmt, bank_key=bank_key, defaults={"objective": objective, "source": source}
    )
    if parsed.error:
        raise AuthoringError(f"The file cannot be imported: {parsed.error}")
    course = draft.items.filter(kind=Kind.COURSE).first()
    objectives = set((course.data.get("objectives") or {}) if course else {})
    taken = set(draft.items.filter(kind=Kind.QUESTION).values_list("key", flat=True))
    categories = {q.category for q in parsed.questions}
    plan = DraftImportPlan(questions=parsed.questions)
    for q in parsed.questions:
        if q.spec is None:
            continue
        bank, title = exchange._bank_for(q.category, bank_key=bank_key, several=len(categories) > 1)
        if q.spec["objective"] not in objectives:
            q.refuse(f"objective {q.spec['objective']} is not an objective of this course")
        elif q.spec["key"] in taken or _question_key_taken(q.spec["key"], bank):
            q.refuse(f"key {q.spec['key']} is already used")
        else:
            taken.add(q.spec["key"])
            q.bank = bank
            plan.banks.setdefault(bank, (title, []))[1].append(q.spec)
    return plan


@transaction.atomic
def import_plan(*, draft_id: int, plan: DraftImportPlan, actor, pool: str = "practice") -> int:
    """Write a plan with no refusal: every bank's questions, or nothing."""
    if plan.refused or not plan.banks:
        raise AuthoringError("Nothing was imported: some questions are refused.")
    for key, (title, specs) in plan.banks.items():
        add_questions(
            draft_id=draft_id, bank_key=key, bank_title=title, questions=specs, actor=actor, pool=pool
        )
    return plan.accepted


# --- the medical review -------------------------------------------------------------------------------


def draft_document(draft: Draft) -> dict:
    return document_from_items(draft.items.all())


@transaction.atomic
def submit_for_review(*, draft_id: int, actor, now=None) -> Draft:
    _require(access.can_author(actor), "Only an author or an admin submits a draft for review.")
    now = now or timezone.now()
    draft = _lock_draft(draft_id)
    _require_editable(draft)
    problems = document_problems(draft_document(draft))
    if problems:
        raise DraftInvalid(problems)
    draft.status, draft.submitted_at = Draft.Status.IN_REVIEW, now
    draft.save(update_fields=["status", "submitted_at"])
    audit.record(action="draft.submitted", target=draft, actor=actor, now=now, data={"course": draft.slug})
    return draft


@transaction.atomic
def add_comment(*, draft_id: int, item_kind: str, item_key: str, body: str, actor, now=None) -> ReviewComment:
    """A message in an item's thread: the reviewer asks, the author answers."""
    _require(access.can_see_drafts(actor), "Only authors and medical reviewers comment on drafts.")
    now = now or timezone.now()
    body = (body or "").strip()
    if not body:
        raise AuthoringError("Write a comment first.")
    draft = Draft.objects.get(pk=draft_id)
    if not draft.items.filter(kind=item_kind, key=item_key).exists():
        raise AuthoringError("No such item in this draft.")
    comment = ReviewComment.objects.create(
        draft=draft, item_kind=item_kind, item_key=item_key, author=actor, body=body, created_at=now
    )
    audit.record(
        action="draft.commented",
        target=comment,
        actor=actor,
        now=now,
        data={"draft": draft.pk, "item": f"{item_kind}:{item_key}"},
    )
    return comment


@transaction.atomic
def request_changes(*, draft_id: int, note: str, actor, now=None) -> Draft:
    _require(access.can_review(actor), "Only a medical reviewer requests changes.")
    now = now or timezone.now()
    draft = _lock_draft(draft_id)
    if draft.status != Draft.Status.IN_REVIEW:
        raise AuthoringError("Only a draft waiting for review can be sent back.")
    if not (note or "").strip():
        raise AuthoringError("Say what must change.")
    draft.status, draft.review_note = Draft.Status.CHANGES_REQUESTED, note.strip()
    draft.save(update_fields=["status", "review_note"])
    audit.record(
        action="draft.changes_requested", target=draft, actor=actor, now=now, data={"note": draft.review_note}
    )
    return draft


@transaction.atomic
def approve(*, draft_id: int, actor, name: str, credential: str, review_date: date, now=None) -> Draft:
    """The medical sign-off: the reviewer's name, credential and date, recorded on the draft and, at
    publishing, on the course version (the existing rule: no review, no publishing)."""
    _require(access.can_review(actor), "Only a medical reviewer approves a draft.")
    now = now or timezone.now()
    draft = _lock_draft(draft_id)
    if draft.status != Draft.Status.IN_REVIEW:
        raise AuthoringError("Only a draft waiting for review can be approved.")
    name, credential = (name or "").strip(), (credential or "").strip()
    if not name or not credential or review_date is None:
        raise AuthoringError("An approval needs your name, your credential and the date.")
    if review_date > timezone.localdate(now):
        raise AuthoringError("The review date cannot be in the future.")
    draft.status = Draft.Status.APPROVED
    draft.reviewer, draft.reviewer_name, draft.reviewer_credential = actor, name[:150], credential[:100]
    draft.approved_on = review_date
    draft.save(update_fields=["status", "reviewer", "reviewer_name", "reviewer_credential", "approved_on"])
    audit.record(
        action="draft.approved",
        target=draft,
        actor=actor,
        now=now,
        data={"reviewer": name, "credential": credential, "date": review_date},
    )
    return draft


@transaction.atomic
def reopen(*, draft_id: int, actor, now=None) -> Draft:
    """Back to editing; an approval given to the old content lapses."""
    _require(access.can_author(actor), "Only an author or an admin reopens a draft.")
    now = now or timezone.now()
    draft = _lock_draft(draft_id)
    if draft.status not in (Draft.Status.IN_REVIEW, Draft.Status.APPROVED):
        raise AuthoringError("Only a draft in review or approved can be reopened.")
    draft.status = Draft.Status.EDITING
    draft.reviewer, draft.reviewer_name, draft.reviewer_credential, draft.approved_on = None, "", "", None
    draft.save(update_fields=["status", "reviewer", "reviewer_name", "reviewer_credential", "approved_on"])
    audit.record(action="draft.reopened", target=draft, actor=actor, now=now, data={})
    return draft


@transaction.atomic
def publish(*, draft_id: int, actor, now=None) -> CourseVersion:
    """Publish an approved draft: written as a content folder with its medical review and loaded
    through `courses.catalog.services.load_course(publish=True)`, so the loader validates it, changed questions
    get new versions (attempts keep the old ones) and clinically significant changes assign updates."""
    from courses.catalog import services as course_services

    _require(access.can_publish(actor), "Only an author or an admin publishes.")
    now = now or timezone.now()
    draft = _lock_draft(draft_id)
    if draft.status != Draft.Status.APPROVED:
        raise AuthoringError("Only a medically approved draft can be published.")
    document = draft_document(draft)
    document["course"]["medical_review"] = {"reviewer": draft.reviewed_by, "date": draft.approved_on}
    with tempfile.TemporaryDirectory() as folder:
        root = write_document(document, folder)
        report = course_services.load_course(path=root, publish=True)
    version = report.version
    draft.status, draft.published_version, draft.course = Draft.Status.PUBLISHED, version, report.course
    draft.published_document = _jsonable(document)
    draft.save(update_fields=["status", "published_version", "course", "published_document"])
    audit.record(
        action="draft.published",
        target=draft,
        actor=actor,
        now=now,
        data={"course": draft.slug, "version": version.number, "reviewer": draft.reviewed_by},
    )
    return version


@transaction.atomic
def request_packet(*, draft_id: int, actor, now=None) -> ReviewPacket:
    """Ask for the review packet PDF of the draft as it is now; a task renders it after commit."""
    from core.queue import enqueue_after_commit

    _require(access.can_see_drafts(actor), "Only authors and medical reviewers read drafts.")
    now = now or timezone.now()
    draft = Draft.objects.get(pk=draft_id)
    packet = ReviewPacket.objects.create(
        draft=draft, requested_by=actor, draft_status=draft.status, created_at=now
    )
    audit.record(
        action="draft.packet_requested", target=packet, actor=actor, now=now, data={"draft": draft.pk}
    )

    def failed(exc):
        ReviewPacket.objects.filter(pk=packet.pk).update(
            status=ReviewPacket.Status.FAILED, error=str(exc)[:500]
        )

    enqueue_after_commit("authoring.tasks.build_review_packet", packet.pk, on_failure=failed)
    return packet


def _today(now: datetime | None = None) -> date:
    return timezone.localdate(now or timezone.now())
