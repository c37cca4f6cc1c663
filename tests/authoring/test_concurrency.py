"""Two authors save the same item at the same moment (PostgreSQL, two connections): exactly one save
lands, the other is told who saved first; nothing is silently overwritten.

Lock: the save reads the item FOR UPDATE and writes with one conditional UPDATE (`WHERE revision = N`).
With both removed (plain read, update by id), both threads succeeded and the second silently overwrote
the first. The same page's Save and autosave sent at once (a blur fires both) are one editor: both land."""

import pytest

from authoring import services
from authoring.models import DraftItem
from tests.authoring.helpers import item, people, published_tiny
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_saves_of_one_item_let_one_through(tmp_path):
    tiny = published_tiny(tmp_path)
    first, _ = people()
    second, _ = people()
    draft = services.start_draft(actor=first, course=tiny.course)
    row = item(draft, DraftItem.Kind.LESSON, "tiny-course-ma-lesson-1")

    def save(actor, title):
        return lambda: services.save_item(
            item_id=row.pk, revision=row.revision, data={**row.data, "title": title}, actor=actor
        )

    results, errors = run_together(save(first, "First"), save(second, "Second"))
    landed = [r for r in results if r is not None]
    conflicts = [e for e in errors if isinstance(e, services.EditConflict)]
    assert len(landed) == 1 and len(conflicts) == 1, (results, errors)
    stored = DraftItem.objects.get(pk=row.pk)
    assert stored.revision == row.revision + 1
    assert stored.data["title"] == landed[0].data["title"]


def test_a_pages_save_and_its_own_autosave_at_once_both_land(tmp_path):
    tiny = published_tiny(tmp_path)
    author, _ = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    row = item(draft, DraftItem.Kind.LESSON, "tiny-course-ma-lesson-1")

    def save(autosave):
        return lambda: services.save_item(
            item_id=row.pk,
            revision=row.revision,
            data={**row.data, "title": "Typed"},
            actor=author,
            autosave=autosave,
            editor="one-page",
        )

    results, errors = run_together(save(True), save(False))
    assert errors == [None, None], errors
    assert DraftItem.objects.get(pk=row.pk).data["title"] == "Typed"
