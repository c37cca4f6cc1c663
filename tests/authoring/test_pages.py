"""Every authoring page in every state renders (one row per state), the access rule, and fixed query
counts for the list pages."""

import io

import pytest
from django.utils import timezone

from accounts.models import Role
from authoring import selectors, services
from authoring.models import DraftItem
from tests.authoring.helpers import edit, item, people, published_tiny
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Kind = DraftItem.Kind
TODAY = timezone.localdate()


@pytest.fixture
def setup(tmp_path):
    tiny = published_tiny(tmp_path)
    author, reviewer = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    return tiny, author, reviewer, draft


def to_state(draft, state, author, reviewer):
    if state == "editing":
        return draft
    services.submit_for_review(draft_id=draft.pk, actor=author)
    if state == "in_review":
        return draft
    if state == "changes_requested":
        return services.request_changes(draft_id=draft.pk, note="Cite the 2024 guideline.", actor=reviewer)
    services.approve(
        draft_id=draft.pk, actor=reviewer, name="Dana Reviewer", credential="MD", review_date=TODAY
    )
    if state == "approved":
        return draft
    services.publish(draft_id=draft.pk, actor=author)
    return draft


STATES = [
    # (state, viewer, texts expected on the draft page)
    ("editing", "author", ["Being edited", "Send to medical review", "Add lesson"]),
    ("in_review", "author", ["Waiting for medical review", "Reopen for editing"]),
    ("changes_requested", "author", ["Cite the 2024 guideline.", "Send to medical review"]),
    ("approved", "author", ["Medically approved by Dana Reviewer, MD", "Publish"]),
    ("published", "author", ["Published as version 2"]),
    ("editing", "reviewer", ["Being edited", "Medical review page"]),
]


@pytest.mark.parametrize(("state", "viewer", "texts"), STATES)
def test_draft_page_in_every_state(client, setup, state, viewer, texts):
    _, author, reviewer, draft = setup
    to_state(draft, state, author, reviewer)
    client.force_login(author if viewer == "author" else reviewer)
    body = client.get(f"/authoring/drafts/{draft.pk}/").content.decode()
    for text in texts:
        assert text in body, (state, viewer, text)
    if viewer == "reviewer":
        assert "Send to medical review" not in body and "Add lesson" not in body


REVIEW_STATES = [
    (
        "in_review",
        "reviewer",
        ["Approve this version", "Request changes", "EXPLANATION-tiny-course-ma-single"],
    ),
    ("editing", "reviewer", ["Decisions open when the author sends the draft to review"]),
    ("approved", "reviewer", ["Approved by Dana Reviewer, MD"]),
    (
        "in_review",
        "author",
        [
            "Right answer tiny-course-ma",
            "Reply on tiny-course-ma-lesson-1",
            "Comment on tiny-course-ma-lesson-2",
        ],
    ),
]


@pytest.mark.parametrize(("state", "viewer", "texts"), REVIEW_STATES)
def test_review_page_shows_keys_explanations_sources_and_threads(client, setup, state, viewer, texts):
    _, author, reviewer, draft = setup
    to_state(draft, state, author, reviewer)
    services.add_comment(
        draft_id=draft.pk,
        item_kind=Kind.LESSON,
        item_key="tiny-course-ma-lesson-1",
        body="Is this current?",
        actor=reviewer,
    )
    client.force_login(author if viewer == "author" else reviewer)
    body = client.get(f"/authoring/drafts/{draft.pk}/review/").content.decode()
    for text in texts + ["Is this current?", "[TEST]", "Key: <strong>False</strong>", "48 ± 0"]:
        assert text in body, (state, viewer, text)
    assert ("Approve this version" in body) is (state == "in_review" and viewer == "reviewer")


ITEM_ROWS = [
    # (kind, key, texts on the edit page)
    (Kind.COURSE, "tiny-course", ["Learning objectives", "MA-1: Objective of module ma."]),
    (Kind.MODULE, "ma", ["Module quiz", "bank tiny-course-ma 4"]),
    (Kind.FINAL_EXAM, "final-exam", ["Draw rules", "bank tiny-course-mb 2"]),
    (Kind.LESSON, "tiny-course-ma-lesson-1", ["Preview (as learners see it)", "Lesson text (Markdown)"]),
    (Kind.BANK, "tiny-course-ma", ["Bank title"]),
    (Kind.QUESTION, "tiny-course-ma-single", ["FEEDBACK-tiny-course-ma-right", "Choices"]),
    (Kind.QUESTION, "tiny-course-ma-multi", ["Partial credit", "Alpha"]),
    (Kind.QUESTION, "tiny-course-ma-match", ['value="Heroin"', 'value="Opioid"', "Hallucinogen"]),
    (Kind.QUESTION, "tiny-course-ma-case", ["parts:", "tiny-course-ma-case-num"]),
]


@pytest.mark.parametrize(("kind", "key", "texts"), ITEM_ROWS)
def test_every_item_editor_renders(client, setup, kind, key, texts):
    _, author, _, draft = setup
    row = DraftItem.objects.get(
        draft=draft,
        kind=kind if kind != Kind.FINAL_EXAM else kind,
        key=key if kind != Kind.FINAL_EXAM else "final-exam",
    )
    client.force_login(author)
    body = client.get(f"/authoring/drafts/{draft.pk}/items/{row.pk}/").content.decode()
    for text in texts:
        assert text in body, (kind, key, text)


def test_true_false_ordering_and_numeric_editors(client, setup):
    _, author, _, draft = setup
    client.force_login(author)
    for qtype, data, text in (
        ("true_false", {"answer": True, "feedback_true": "Yes."}, 'Feedback for "True"'),
        ("ordering", {"items": ["One", "Two", "Three"]}, ">One&#10;Two&#10;Three</textarea>"),
        (
            "numeric",
            {"answer": {"value": 4, "tolerance": 1}, "unit": "mg"},
            'name="tolerance" inputmode="decimal" value="1"',
        ),
    ):
        row = item(draft, Kind.QUESTION, "tiny-course-ma-single")
        spec = {k: v for k, v in row.data.items() if k not in ("choices",)}
        services.save_item(
            item_id=row.pk, revision=row.revision, data={**spec, "type": qtype, **data}, actor=author
        )
        body = client.get(f"/authoring/drafts/{draft.pk}/items/{row.pk}/").content.decode()
        assert text in body, qtype


def test_a_save_with_problems_lists_each_next_to_its_field(client, setup):
    _, author, _, draft = setup
    row = item(draft, Kind.LESSON, "tiny-course-ma-lesson-1")
    client.force_login(author)
    response = client.post(
        f"/authoring/drafts/{draft.pk}/items/{row.pk}/",
        {"revision": row.revision, "title": "", "minutes": "0", "sources": "", "body": "short"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="problems-title"' in body and 'id="problems-minutes"' in body and 'id="problems-body"' in body
    assert 'id="problems-sources"' in body and "problems to fix before review" in body


def test_a_stale_form_is_told_and_keeps_the_typed_text(client, setup):
    _, author, _, draft = setup
    other = UserFactory(role=Role.AUTHOR, first_name="Olu", last_name="Other")
    row = edit(draft, Kind.LESSON, "tiny-course-ma-lesson-1", other, title="Other's title")
    client.force_login(author)
    data = {
        "revision": row.revision - 1,
        "title": "My title",
        "minutes": "3",
        "objectives": "MA-1",
        "sources": "[1] S",
        "body": row.data["body"],
    }
    response = client.post(f"/authoring/drafts/{draft.pk}/items/{row.pk}/", data)
    assert response.status_code == 409
    body = response.content.decode()
    assert "Olu Other saved this lesson" in body and 'value="My title"' in body
    autosave = client.post(
        f"/authoring/drafts/{draft.pk}/items/{row.pk}/autosave/", data, HTTP_HX_REQUEST="true"
    )
    assert autosave.status_code == 409 and "Olu Other saved this lesson" in autosave.content.decode()
    assert (
        "hx-swap-oob" not in autosave.content.decode()
    )  # the editor keeps its old revision: no overwrite later
    assert item(draft, Kind.LESSON, row.key).data["title"] == "Other's title"


def test_autosave_answers_the_new_revision(client, setup):
    _, author, _, draft = setup
    row = item(draft, Kind.LESSON, "tiny-course-ma-lesson-1")
    client.force_login(author)
    data = {
        "revision": row.revision,
        "title": "Autosaved",
        "minutes": "3",
        "objectives": "MA-1",
        "sources": "[TEST] A test source",
        "body": row.data["body"],
    }
    response = client.post(
        f"/authoring/drafts/{draft.pk}/items/{row.pk}/autosave/", data, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert (
        f'name="revision" id="revision" value="{row.revision + 1}" hx-swap-oob="true"'
        in response.content.decode()
    )


def test_preview_uses_the_learners_renderer_and_sanitises(client, setup):
    _, author, _, _ = setup
    client.force_login(author)
    body = client.post(
        "/authoring/preview/", {"body": "**bold** <script>alert(1)</script>\n\n> [!WARNING]\n> Call"}
    ).content.decode()
    assert "<strong>bold</strong>" in body and "<script" not in body and "callout" in body


DIFF_ROWS = [
    ("no change", {}, ["No lesson changed.", "No question changed."]),
    (
        "lesson and question",
        {"lesson": True, "question": True},
        ["+ A new line about naloxone.", "explanation", "Marked clinically significant (1)"],
    ),
]


@pytest.mark.parametrize(("name", "changes", "texts"), DIFF_ROWS)
def test_diff_page(client, setup, name, changes, texts):
    _, author, _, draft = setup
    if changes.get("lesson"):
        row = item(draft, Kind.LESSON, "tiny-course-ma-lesson-1")
        edit(
            draft,
            Kind.LESSON,
            row.key,
            author,
            body=row.data["body"] + "\nA new line about naloxone.",
            clinically_significant=True,
        )
    if changes.get("question"):
        edit(draft, Kind.QUESTION, "tiny-course-ma-single", author, explanation="New. Explanation [1].")
    client.force_login(author)
    body = client.get(f"/authoring/drafts/{draft.pk}/diff/").content.decode()
    for text in texts:
        assert text in body, (name, text)


def test_home_page_states(client, setup):
    tiny, author, reviewer, draft = setup
    client.force_login(author)
    body = client.get("/authoring/").content.decode()
    assert "Being edited" in body and "New course" in body
    client.force_login(reviewer)
    body = client.get("/authoring/").content.decode()
    assert "Being edited" in body and "New course" not in body


@pytest.mark.parametrize("role", [Role.LEARNER, Role.SUPERVISOR, Role.SURVEYOR])
def test_drafts_are_refused_to_everyone_else(client, setup, role):
    _, _, _, draft = setup
    client.force_login(UserFactory(role=role))
    for url in ("/authoring/", f"/authoring/drafts/{draft.pk}/", f"/authoring/drafts/{draft.pk}/review/"):
        # a surveyor without an active scope is logged out first (accounts.auth): never a draft either way
        assert client.get(url).status_code in ((403, 302) if role == Role.SURVEYOR else (403,)), (role, url)


def test_packet_pdf_is_rendered_by_a_task_and_has_keys_the_diff_and_a_signature_block(
    client, setup, tmp_path, settings, django_capture_on_commit_callbacks
):
    import subprocess

    from authoring.models import ReviewPacket

    settings.MEDIA_ROOT = tmp_path / "media"
    _, author, reviewer, draft = setup
    to_state(draft, "approved", author, reviewer)
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/authoring/drafts/{draft.pk}/packets/")
    packet = ReviewPacket.objects.get()
    assert (
        response.status_code == 302
        and response["Location"] == f"/authoring/drafts/{draft.pk}/packets/{packet.pk}/"
    )
    assert packet.status == ReviewPacket.Status.DONE
    page = client.get(response["Location"]).content.decode()
    assert "Download the review packet (PDF)" in page
    download = client.get(f"/authoring/drafts/{draft.pk}/packets/{packet.pk}/download/")
    assert download["Content-Type"] == "application/pdf"
    path = tmp_path / "packet.pdf"
    path.write_bytes(b"".join(download.streaming_content))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
    for expected in (
        "Medical review packet",
        "[KEY] Right answer tiny-course-ma",
        "Source: [TEST]",
        "Changes against the previous version",
        "Medical sign-off",
        "Dana Reviewer, MD",
    ):
        assert expected in " ".join(text.split()), expected


PACKET_STATES = [
    ("queued", ["Queued", 'hx-trigger="every 2s"']),
    ("running", ["Rendering", 'hx-trigger="every 2s"']),
    ("failed", ["Rendering the packet failed: boom"]),
]


@pytest.mark.parametrize(("status", "texts"), PACKET_STATES)
def test_packet_page_states(client, setup, status, texts):
    from authoring.models import ReviewPacket

    _, author, _, draft = setup
    packet = ReviewPacket.objects.create(
        draft=draft,
        requested_by=author,
        status=status,
        draft_status=draft.status,
        error="boom",
        created_at=timezone.now(),
    )
    client.force_login(author)
    body = client.get(f"/authoring/drafts/{draft.pk}/packets/{packet.pk}/").content.decode()
    for text in texts:
        assert text in body, (status, text)
    assert client.get(f"/authoring/drafts/{draft.pk}/packets/{packet.pk}/download/").status_code == 404


GIFT = """// [tag:objective:MA-1]
::q-one:: Which is right? {=Right#Yes ~Wrong#No ~Other####Because it is. Cite [1].}

// [tag:objective:MA-1]
::q-two:: Shortanswer question {=exact answer####x}
"""


def test_import_shows_a_preview_and_writes_nothing_until_confirmed(client, setup):
    _, author, _, draft = setup
    client.force_login(author)
    good = GIFT.split("\n\n")[0] + "\n"
    upload = io.BytesIO(good.encode())
    upload.name = "q.gift"
    response = client.post(
        f"/authoring/drafts/{draft.pk}/import/",
        {"file": upload, "fmt": "gift", "bank_key": "imported", "source": "[1] Source"},
    )
    body = response.content.decode()
    assert "Preview: 1 to create in bank" in body and "q-one" in body
    assert not DraftItem.objects.filter(draft=draft, kind=Kind.QUESTION, key="q-one").exists()
    digest = body.split('name="confirm" value="')[1].split('"')[0]
    response = client.post(f"/authoring/drafts/{draft.pk}/import/", {"confirm": digest})
    assert response.status_code == 302
    assert item(draft, Kind.QUESTION, "q-one").parent_key == "imported"


def test_import_with_a_refused_question_imports_nothing(client, setup):
    _, author, _, draft = setup
    client.force_login(author)
    upload = io.BytesIO(GIFT.encode())
    upload.name = "q.gift"
    body = client.post(
        f"/authoring/drafts/{draft.pk}/import/",
        {"file": upload, "fmt": "gift", "bank_key": "imported", "source": "[1] S"},
    ).content.decode()
    assert "refused" in body and "line 5" in body and "Nothing can be imported" in body
    assert 'name="confirm"' not in body


@pytest.mark.parametrize("payload", [b"\xff\xfe not utf-8", b"::broken:: {=a ~b", b"<quiz><question"])
def test_malformed_uploads_are_refused_with_a_message_never_a_500(client, setup, payload):
    _, author, _, draft = setup
    client.force_login(author)
    upload = io.BytesIO(payload)
    upload.name = "bad"
    fmt = "moodle-xml" if payload.startswith(b"<") else "gift"
    response = client.post(
        f"/authoring/drafts/{draft.pk}/import/", {"file": upload, "fmt": fmt, "bank_key": "imp"}
    )
    assert response.status_code in (200, 400)
    assert "banner banner-error" in response.content.decode()


# --- fixed query counts ---------------------------------------------------------------------------


def test_list_selectors_have_fixed_query_counts(setup, django_assert_num_queries, tmp_path):
    tiny, author, _, draft = setup
    with django_assert_num_queries(3):
        selectors.authoring_home()
    with django_assert_num_queries(3):
        selectors.draft_overview(draft.pk)
    with django_assert_num_queries(3):
        selectors.review_page(draft.pk)
    for i in range(5):  # more items and comments: the same counts
        services.add_item(
            draft_id=draft.pk, kind=Kind.LESSON, key=f"extra-{i}", parent_key="ma", actor=author
        )
        services.add_comment(
            draft_id=draft.pk, item_kind=Kind.LESSON, item_key=f"extra-{i}", body="?", actor=author
        )
    other = published_tiny(tmp_path / "other", slug="other-course")
    services.start_draft(actor=author, course=other.course)
    with django_assert_num_queries(3):
        selectors.authoring_home()
    with django_assert_num_queries(3):
        selectors.draft_overview(draft.pk)
    with django_assert_num_queries(3):
        selectors.review_page(draft.pk)


FORM_ROWS = [
    # (type, posted answer fields, the spec stored)
    ("ordering", {"items": "First\r\nSecond\r\nThird"}, {"items": ["First", "Second", "Third"]}),
    (
        "matching",
        {
            "pair_0_left": "A",
            "pair_0_right": "1",
            "pair_1_left": "B",
            "pair_1_right": "2",
            "pair_2_left": "C",
            "pair_2_right": "3",
            "extra_right": "4",
        },
        {
            "pairs": [{"left": "A", "right": "1"}, {"left": "B", "right": "2"}, {"left": "C", "right": "3"}],
            "extra_right": ["4"],
        },
    ),
    (
        "numeric",
        {"numeric_mode": "exact", "value": "48", "tolerance": "2", "unit": "hours"},
        {"answer": {"value": 48, "tolerance": 2}, "unit": "hours"},
    ),
    ("numeric", {"numeric_mode": "range", "min": "30", "max": "90"}, {"answer": {"min": 30, "max": 90}}),
    (
        "true_false",
        {"answer": "false", "feedback_false": "Right."},
        {"answer": False, "feedback_false": "Right."},
    ),
]


@pytest.mark.parametrize(("qtype", "fields", "expected"), FORM_ROWS)
def test_each_type_form_saves_the_loader_shape_without_problems(client, setup, qtype, fields, expected):
    _, author, _, draft = setup
    row = item(draft, Kind.QUESTION, "tiny-course-ma-single")
    client.force_login(author)
    post = {
        "revision": row.revision,
        "type": qtype,
        "objective": "MA-1",
        "difficulty": "2",
        "source": "[1] S",
        "stem": "Stem?",
        "explanation": "Why. Because [1].",
        **fields,
    }
    response = client.post(f"/authoring/drafts/{draft.pk}/items/{row.pk}/", post)
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = item(draft, Kind.QUESTION, row.key).data
    assert {k: stored[k] for k in expected} == expected


SETTINGS_ROWS = [
    # (kind, key, posted fields that are wrong, the fields that must show a problem)
    (
        Kind.COURSE,
        "tiny-course",
        {
            "title": "",
            "ce_hours": "many",
            "minimum_lesson_percent": "150",
            "objectives": "MA-1: Objective of module ma.\nno text here",
        },
        ["title", "ce_hours", "minimum_lesson_percent", "objectives"],
    ),
    (
        Kind.MODULE,
        "ma",
        {"module_title": "", "title": "Quiz", "pass_mark": "lots", "draw": "bank tiny-course-ma four"},
        ["module_title", "pass_mark", "draw"],
    ),
]


@pytest.mark.parametrize(("kind", "key", "fields", "expected"), SETTINGS_ROWS)
def test_settings_problems_are_next_to_their_fields(client, setup, kind, key, fields, expected):
    _, author, _, draft = setup
    row = item(draft, kind, key)
    client.force_login(author)
    body = client.post(f"/authoring/drafts/{draft.pk}/items/{row.pk}/", {"revision": row.revision, **fields})
    text = body.content.decode()
    for field in expected:
        assert f'id="problems-{field}"' in text, (kind, field)


def test_the_admin_lists_drafts_read_only(client, setup):
    _, _, _, draft = setup
    admin_user = UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    assert client.get("/admin/authoring/draft/").status_code == 200
    assert client.get(f"/admin/authoring/draft/{draft.pk}/change/").status_code == 200
    assert client.get("/admin/authoring/draft/add/").status_code == 403
