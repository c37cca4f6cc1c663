"""Shared by the authoring tests: a published tiny course, an author, a reviewer."""

from accounts.models import Role
from authoring import services
from authoring.models import DraftItem
from tests.course_helpers import load_tiny
from tests.factories import UserFactory


def people():
    return (
        UserFactory(role=Role.AUTHOR, first_name="Ari", last_name="Author"),
        UserFactory(role=Role.MEDICAL_REVIEWER, first_name="Dana", last_name="Reviewer"),
    )


def item(draft, kind, key) -> DraftItem:
    return DraftItem.objects.get(draft=draft, kind=kind, key=key)


def edit(draft, kind, key, actor, **changes) -> DraftItem:
    row = item(draft, kind, key)
    return services.save_item(
        item_id=row.pk, revision=row.revision, data={**row.data, **changes}, actor=actor
    )


def published_tiny(tmp_path, **options):
    return load_tiny(tmp_path, **options)
