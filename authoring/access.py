"""Who may author, review and publish course content: each rule here and nowhere else.

- An author (role `author`) or an admin edits drafts, answers review comments and publishes an
  approved draft.
- A medical reviewer (role `medical_reviewer`) reads every draft with its keys, comments, requests
  changes or approves. Only a medical reviewer approves: the approval is a clinical signature, so an
  admin cannot give it.
- Learners, supervisors and surveyors see no draft: a draft shows answer keys."""

from accounts.models import Role

AUTHOR_ROLES = frozenset({Role.AUTHOR, Role.ADMIN})
REVIEWER_ROLES = frozenset({Role.MEDICAL_REVIEWER})


def can_author(user) -> bool:
    return bool(user and user.is_authenticated and (user.role in AUTHOR_ROLES or user.is_superuser))


def can_review(user) -> bool:
    return bool(user and user.is_authenticated and user.role in REVIEWER_ROLES)


def can_see_drafts(user) -> bool:
    return can_author(user) or can_review(user)


def can_publish(user) -> bool:
    return can_author(user)
