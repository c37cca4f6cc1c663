"""Reads of authoring pages, each with a fixed number of queries (tests/authoring/test_pages.py)."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch

from courses.models import Course, CourseVersion

from .documents import document_from_items, lesson_problems, question_problems
from .models import Draft, DraftItem, ReviewComment

Kind = DraftItem.Kind


@dataclass
class HomeRow:
    course: Course
    published: CourseVersion | None
    latest: CourseVersion | None
    open_draft: Draft | None


def authoring_home() -> tuple[list[HomeRow], list[Draft]]:
    """Every course with its published and latest version and open draft; recent drafts. 3 queries."""
    versions = Prefetch("versions", queryset=CourseVersion.objects.order_by("-number"), to_attr="ordered")
    courses = list(Course.objects.order_by("title").prefetch_related(versions))
    drafts = list(
        Draft.objects.select_related("created_by", "published_version").order_by("-created_at")[:50]
    )
    open_drafts = {d.slug: d for d in drafts if d.status != Draft.Status.PUBLISHED}
    rows = [
        HomeRow(
            course=c,
            published=next((v for v in c.ordered if v.status == CourseVersion.Status.PUBLISHED), None),
            latest=c.ordered[0] if c.ordered else None,
            open_draft=open_drafts.get(c.slug),
        )
        for c in courses
    ]
    return rows, drafts


@dataclass
class DraftOverview:
    draft: Draft
    course: DraftItem
    modules: list[tuple[DraftItem, list[DraftItem]]]
    banks: list[tuple[DraftItem, list[DraftItem]]]
    final_exam: DraftItem | None
    problems: dict[int, int] = field(default_factory=dict)  # item id -> number of problems
    comments: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def problem_total(self) -> int:
        return sum(self.problems.values())


def draft_overview(draft_id: int) -> DraftOverview:
    """The draft's items in order with their problem counts and comment counts. 3 queries."""
    draft = Draft.objects.select_related("created_by", "reviewer", "base_version", "published_version").get(
        pk=draft_id
    )
    items = list(draft.items.select_related("updated_by").order_by("position", "key"))
    counts = {
        (row["item_kind"], row["item_key"]): row["n"]
        for row in draft.comments.values("item_kind", "item_key").annotate(n=Count("pk"))
    }
    by_parent = defaultdict(list)
    for item in items:
        if item.kind in (Kind.LESSON, Kind.QUESTION):
            by_parent[(item.kind, item.parent_key)].append(item)
    course = next(i for i in items if i.kind == Kind.COURSE)
    objectives = set((course.data.get("objectives") or {}).keys())
    problems = {}
    for item in items:
        if item.kind == Kind.LESSON:
            problems[item.pk] = sum(map(len, lesson_problems(item.data, objectives=objectives).values()))
        elif item.kind == Kind.QUESTION:
            problems[item.pk] = sum(map(len, question_problems(item.data, objectives=objectives).values()))
    return DraftOverview(
        draft=draft,
        course=course,
        modules=[(m, by_parent[(Kind.LESSON, m.key)]) for m in items if m.kind == Kind.MODULE],
        banks=[(b, by_parent[(Kind.QUESTION, b.key)]) for b in items if b.kind == Kind.BANK],
        final_exam=next((i for i in items if i.kind == Kind.FINAL_EXAM), None),
        problems=problems,
        comments=counts,
    )


@dataclass
class ReviewEntry:
    item: DraftItem
    comments: list[ReviewComment]


@dataclass
class ReviewPage:
    draft: Draft
    document: dict
    objectives: dict
    lessons: list[tuple[DraftItem, list[ReviewEntry]]]  # module, its lessons
    questions: list[tuple[DraftItem, list[ReviewEntry]]]  # bank, its questions
    quizzes: list[ReviewEntry]


def review_page(draft_id: int) -> ReviewPage:
    """Every lesson and question with keys, explanations, sources and their comment threads. 3 queries."""
    draft = Draft.objects.select_related("created_by", "reviewer").get(pk=draft_id)
    items = list(draft.items.order_by("position", "key"))
    threads = defaultdict(list)
    for comment in draft.comments.select_related("author").order_by("created_at", "pk"):
        threads[(comment.item_kind, comment.item_key)].append(comment)

    def entry(item):
        return ReviewEntry(item, threads.get((item.kind, item.key), []))

    course = next(i for i in items if i.kind == Kind.COURSE)
    children = defaultdict(list)
    for item in items:
        if item.kind in (Kind.LESSON, Kind.QUESTION):
            children[(item.kind, item.parent_key)].append(entry(item))
    return ReviewPage(
        draft=draft,
        document=document_from_items(items),
        objectives=course.data.get("objectives") or {},
        lessons=[(m, children[(Kind.LESSON, m.key)]) for m in items if m.kind == Kind.MODULE],
        questions=[(b, children[(Kind.QUESTION, b.key)]) for b in items if b.kind == Kind.BANK],
        quizzes=[entry(i) for i in items if i.kind in (Kind.MODULE, Kind.FINAL_EXAM)],
    )
