"""The courses app's family of domain errors (core.errors.DomainError). Every refusal of a courses
service derives from `CourseError`, so a caller may catch the family or one refusal by class."""

from core.errors import DomainError


class CourseError(DomainError):
    code = "course_error"
