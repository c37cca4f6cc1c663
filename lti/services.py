"""Every write of the LTI integration, each in one transaction and audited: the launch (who the platform's
user is here, the enrollment, the link's services), the deep-linking choice, scores queued for the
platform's gradebook and their delivery."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import provision_external_user
from core import audit
from core.errors import DomainError

from . import selectors
from .models import Platform, PlatformUser, ResourceLink

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DEPLOYMENT_ID = CLAIM + "deployment_id"
RESOURCE_LINK = CLAIM + "resource_link"
CONTEXT = CLAIM + "context"
CUSTOM = CLAIM + "custom"
ROLES = CLAIM + "roles"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
INSTRUCTOR_ROLES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
)


class LaunchRefused(DomainError):
    """A launch that is valid LTI but that this engine will not act on; the message is for the person."""

    http_status = 403
    code = "launch_refused"


def is_instructor(claims: dict) -> bool:
    return any(role in INSTRUCTOR_ROLES for role in claims.get(ROLES, []))


@dataclass(frozen=True)
class LaunchResult:
    user: User
    link: ResourceLink
    redirect_to: str


def _platform(claims: dict) -> Platform:
    aud = claims.get("aud")
    client_id = aud[0] if isinstance(aud, list) else aud
    return Platform.objects.get(issuer=claims["iss"], client_id=client_id, is_active=True)


def _account_for(platform: Platform, deployment_id: str, claims: dict, *, now: datetime) -> PlatformUser:
    """The platform's user within this deployment: linked before; else an existing plain learner account
    with the same email (when the platform allows it); else a new account. Never a deactivated account,
    never one with powers above a learner's (an admin links those by hand)."""
    sub = claims.get("sub") or ""
    if not sub:
        raise LaunchRefused("The LMS sent no user id with this launch; anonymous launches are not supported.")
    email = (claims.get("email") or "").strip()
    identity = (
        PlatformUser.objects.select_for_update()
        .select_related("user")
        .filter(platform=platform, deployment_id=deployment_id, sub=sub)
        .first()
    )
    if identity is not None:
        if not identity.user.is_active:
            raise LaunchRefused("This account is deactivated. Ask your training coordinator.")
        identity.last_launch_at = now
        identity.email = email or identity.email
        identity.save(update_fields=["last_launch_at", "email"])
        return identity
    user, how = None, "provisioned"
    if email:
        same_email = list(User.objects.filter(email__iexact=email)[:2])
        if len(same_email) > 1:
            raise LaunchRefused(
                "More than one account here has this email address; an admin links the right one to the LMS."
            )
        if same_email:
            existing = same_email[0]
            if not existing.is_active:
                raise LaunchRefused("This account is deactivated. Ask your training coordinator.")
            if not platform.match_by_email:
                raise LaunchRefused(
                    "An account here already has this email address; an admin links it to the LMS."
                )
            if (
                existing.role != Role.LEARNER
                or existing.is_staff
                or existing.is_superuser
                or existing.service_account
            ):
                raise LaunchRefused(
                    "The account with this email address has staff powers here; an admin links it to the LMS by hand."
                )
            user, how = existing, "matched_by_email"
    if user is None:
        user = provision_external_user(
            source=f"lti:{platform.pk}",
            username_hint=email.split("@")[0] if email else f"lti-{platform.pk}-{sub}",
            email=email,
            first_name=claims.get("given_name") or "",
            last_name=claims.get("family_name") or "",
        )
    identity = PlatformUser.objects.create(
        platform=platform,
        deployment_id=deployment_id,
        sub=sub,
        user=user,
        email=email,
        created_at=now,
        last_launch_at=now,
    )
    audit.record(
        action="lti.user_linked",
        target=identity,
        subject_user_id=user.pk,
        now=now,
        data={"platform": platform.pk, "deployment": deployment_id, "sub": sub, "how": how},
    )
    return identity


def _target(claims: dict):
    custom = claims.get(CUSTOM) or {}
    slug, quiz_key = custom.get("course", ""), custom.get("quiz", "")
    found = selectors.find_choice(course_slug=slug, quiz_key=quiz_key) if slug else None
    course = selectors.course_by_slug(slug) if found else None
    if course is None:
        raise LaunchRefused(
            "This LMS link does not point at a course that runs here. Ask the instructor to choose it again."
        )
    return course, quiz_key


def _upsert_link(platform, deployment_id, claims, *, course, quiz_key, now) -> ResourceLink:
    resource = claims.get(RESOURCE_LINK) or {}
    context = claims.get(CONTEXT) or {}
    ags = claims.get(AGS_ENDPOINT) or {}
    nrps = claims.get(NRPS) or {}
    link, _ = ResourceLink.objects.select_for_update().update_or_create(
        platform=platform,
        deployment_id=deployment_id,
        resource_link_id=resource.get("id", ""),
        defaults={
            "title": (resource.get("title") or "")[:255],
            "context_id": (context.get("id") or "")[:255],
            "context_title": (context.get("title") or "")[:255],
            "course": course,
            "quiz_key": quiz_key,
            "lineitem_url": ags.get("lineitem", ""),
            "lineitems_url": ags.get("lineitems", ""),
            "ags_scopes": list(ags.get("scope") or []),
            "memberships_url": nrps.get("context_memberships_url", ""),
            "updated_at": now,
        },
    )
    return link


def resource_launch(*, claims: dict, now: datetime | None = None) -> LaunchResult:
    """A verified resource-link launch: the person signed in as their account here (matched or made),
    enrolled in the linked course when they launch as a learner, and sent to the course or the quiz.

    Two first launches of one person at once (two tabs, a double click in the LMS) both find no link;
    the one that loses on a unique constraint is rolled back whole and run again, and then finds the
    winner's account."""
    try:
        return _resource_launch(claims=claims, now=now)
    except IntegrityError:
        return _resource_launch(claims=claims, now=now)


@transaction.atomic
def _resource_launch(*, claims: dict, now: datetime | None = None) -> LaunchResult:
    from courses.enrollment import selectors as course_selectors
    from courses.enrollment import services as course_services
    from quizzes.models import Quiz

    now = now or timezone.now()
    platform = _platform(claims)
    deployment_id = claims[DEPLOYMENT_ID]
    course, quiz_key = _target(claims)
    identity = _account_for(platform, deployment_id, claims, now=now)
    link = _upsert_link(platform, deployment_id, claims, course=course, quiz_key=quiz_key, now=now)
    link.learners.add(identity)
    redirect_to = reverse("frontend:course", args=[course.slug])
    if not is_instructor(claims):
        try:
            enrollment, _ = course_services.enroll(user=identity.user, course=course, now=now)
        except course_services.EnrollmentRefused as exc:
            raise LaunchRefused(str(exc)) from exc
        if quiz_key:
            quiz = (
                Quiz.objects.filter(pk__in=course_selectors.enrollment_quiz_ids(enrollment), key=quiz_key)
                .only("pk")
                .first()
            )
            if quiz is not None:
                redirect_to = reverse("frontend:quiz", args=[quiz.pk])
    audit.record(
        action="lti.launch",
        target=link,
        subject_user_id=identity.user_id,
        now=now,
        data={"platform": platform.pk, "deployment": deployment_id, "course": course.slug, "quiz": quiz_key},
    )
    return LaunchResult(user=identity.user, link=link, redirect_to=redirect_to)


@transaction.atomic
def record_deep_link(*, claims: dict, course_slug: str, quiz_key: str, now: datetime | None = None) -> None:
    """An instructor placed a course or a quiz in the LMS (the response itself is signed by the view)."""
    now = now or timezone.now()
    platform = _platform(claims)
    audit.record(
        action="lti.deep_link",
        target=platform,
        now=now,
        data={
            "deployment": claims.get(DEPLOYMENT_ID),
            "by_sub": claims.get("sub"),
            "context": (claims.get(CONTEXT) or {}).get("id"),
            "course": course_slug,
            "quiz": quiz_key,
        },
    )


# --- scores back to the platform (Assignment and Grade Services) ---------------------------------


@transaction.atomic
def save_platform(*, platform: Platform, deployment_ids: list[str], actor=None) -> Platform:
    """Register or change a platform (the admin's form) and its deployment ids: one transaction, audited.
    Deployments no longer listed are switched off, not deleted (links made under them stay readable)."""
    from .models import Deployment

    created = platform.pk is None
    platform.save()
    wanted = {d.strip() for d in deployment_ids if d.strip()}
    for deployment_id in wanted:
        Deployment.objects.update_or_create(
            platform=platform, deployment_id=deployment_id, defaults={"is_active": True}
        )
    Deployment.objects.filter(platform=platform).exclude(deployment_id__in=wanted).update(is_active=False)
    audit.record(
        action="lti.platform_registered" if created else "lti.platform_changed",
        target=platform,
        actor=actor,
        data={
            "issuer": platform.issuer,
            "client_id": platform.client_id,
            "deployments": sorted(wanted),
            "active": platform.is_active,
            "jwks_url": platform.jwks_url,
        },
    )
    return platform


@transaction.atomic
def link_platform_user(
    *, platform: Platform, deployment_id: str, sub: str, user: User, actor=None, now: datetime | None = None
) -> PlatformUser:
    """An admin links a platform's user to an existing account by hand (the way for accounts a launch
    will not link by itself: staff powers, two accounts with one email). Audited."""
    now = now or timezone.now()
    identity, _ = PlatformUser.objects.update_or_create(
        platform=platform,
        deployment_id=deployment_id,
        sub=sub,
        defaults={"user": user, "email": user.email, "created_at": now, "last_launch_at": now},
    )
    audit.record(
        action="lti.user_linked",
        target=identity,
        actor=actor,
        subject_user_id=user.pk,
        now=now,
        data={"platform": platform.pk, "deployment": deployment_id, "sub": sub, "how": "by_admin"},
    )
    return identity
