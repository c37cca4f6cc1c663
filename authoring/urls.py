from django.urls import path

from . import views

app_name = "authoring"

urlpatterns = [
    path("", views.home, name="home"),
    path("start/", views.start, name="start"),
    path("preview/", views.preview, name="preview"),
    path("drafts/<int:draft_id>/", views.draft_page, name="draft"),
    path("drafts/<int:draft_id>/add/", views.add_item, name="add"),
    path("drafts/<int:draft_id>/items/<int:item_id>/", views.edit_item, name="item"),
    path("drafts/<int:draft_id>/items/<int:item_id>/autosave/", views.autosave, name="autosave"),
    path("drafts/<int:draft_id>/items/<int:item_id>/remove/", views.remove_item, name="remove"),
    path("drafts/<int:draft_id>/items/<int:item_id>/move/", views.move_item, name="move"),
    path("drafts/<int:draft_id>/diff/", views.diff_page, name="diff"),
    path("drafts/<int:draft_id>/review/", views.review, name="review"),
    path("drafts/<int:draft_id>/comment/", views.comment, name="comment"),
    path("drafts/<int:draft_id>/submit/", views.submit, name="submit"),
    path("drafts/<int:draft_id>/request-changes/", views.request_changes, name="request_changes"),
    path("drafts/<int:draft_id>/approve/", views.approve, name="approve"),
    path("drafts/<int:draft_id>/reopen/", views.reopen, name="reopen"),
    path("drafts/<int:draft_id>/publish/", views.publish, name="publish"),
    path("drafts/<int:draft_id>/packets/", views.packet_request, name="packet_request"),
    path("drafts/<int:draft_id>/packets/<int:packet_id>/", views.packet_page, name="packet"),
    path(
        "drafts/<int:draft_id>/packets/<int:packet_id>/download/",
        views.packet_download,
        name="packet_download",
    ),
    path("drafts/<int:draft_id>/import/", views.import_questions, name="import"),
]
