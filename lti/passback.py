"""Talking to a platform's Advantage services (no database writes here: lti.services records results).

Scores: POST to the link's line item `/scores` (AGS); a link whose launch offered only the line-items
container gets its line item looked up (or made) by resource link id first. Roster: the context's
memberships (NRPS), every page."""

from dataclasses import dataclass

from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.names_roles import NamesRolesProvisioningService

from .models import ResourceLink, ScoreSubmission
from .tool import service_connector


def iso_timestamp(value) -> str:
    """ISO 8601 with milliseconds and the UTC offset, as AGS asks."""
    return value.isoformat(timespec="milliseconds")


def _ags(link: ResourceLink) -> AssignmentsGradesService:
    return AssignmentsGradesService(
        service_connector(link.platform),
        {"scope": link.ags_scopes, "lineitem": link.lineitem_url or None, "lineitems": link.lineitems_url},
    )


def deliver_score(submission: ScoreSubmission) -> None:
    """Send one score; raises (pylti1p3's LtiServiceException, requests' errors) when the platform
    does not take it."""
    link = submission.link
    grade = (
        Grade()
        .set_score_given(float(submission.score_given))
        .set_score_maximum(float(submission.score_maximum))
        .set_activity_progress(submission.activity_progress)
        .set_grading_progress(submission.grading_progress)
        .set_timestamp(iso_timestamp(submission.timestamp))
        .set_user_id(submission.learner.sub)
    )
    ags = _ags(link)
    lineitem = None
    if not link.lineitem_url:
        lineitem = ags.find_or_create_lineitem(
            LineItem()
            .set_label(link.title or link.course.title)
            .set_score_maximum(float(submission.score_maximum))
            .set_resource_link_id(link.resource_link_id)
            .set_tag("quiz" if link.quiz_key else "course"),
            find_by="resource_link_id",
        )
    ags.put_grade(grade, lineitem)


@dataclass(frozen=True)
class Member:
    user_id: str
    name: str
    email: str
    roles: list[str]
    status: str


def roster(link: ResourceLink) -> list[Member]:
    """Everyone in the link's LMS course (context), from the platform's membership service."""
    if not link.memberships_url:
        return []
    service = NamesRolesProvisioningService(
        service_connector(link.platform), {"context_memberships_url": link.memberships_url}
    )
    return [
        Member(
            user_id=m.get("user_id", ""),
            name=m.get("name") or " ".join(p for p in (m.get("given_name"), m.get("family_name")) if p),
            email=m.get("email", ""),
            roles=[r.rsplit("#", 1)[-1] for r in m.get("roles", [])],
            status=m.get("status", "Active"),
        )
        for m in service.get_members()
    ]
