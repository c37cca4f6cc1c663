"""courses.enrollment.fast_reads: the grading path's enrollment lookup as SQL gives what the selector gives."""

import pytest

from courses.enrollment import fast_reads, selectors, services
from courses.models import Enrollment
from tests.course_helpers import load_tiny
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def both(user, quiz):
    orm = selectors.enrollment_for_quiz(user=user, quiz=quiz)
    return fast_reads.enrollment_id_for_quiz(user=user, quiz=quiz), orm.pk if orm else None


def test_enrollment_id_for_quiz_matches_the_selector_case_by_case(tmp_path, django_assert_num_queries):
    tiny = load_tiny(tmp_path)
    module_quiz, final = tiny.modules[0].quiz, tiny.version.final_exam
    learner, stranger = UserFactory(), UserFactory()

    def check(name, user, quiz):
        with django_assert_num_queries(1):
            fast_reads.enrollment_id_for_quiz(user=user, quiz=quiz)
        fast, orm = both(user, quiz)
        assert fast == orm, name
        return fast

    assert check("not enrolled", learner, module_quiz) is None
    first, _ = services.enroll(user=learner, course=tiny.course)
    assert check("module quiz", learner, module_quiz) == first.pk
    assert check("final exam", learner, final) == first.pk
    assert check("someone else's", stranger, module_quiz) is None
    Enrollment.objects.filter(pk=first.pk).update(
        status=Enrollment.Status.COMPLETED, completed_at=first.enrolled_at
    )
    second = Enrollment.objects.create(
        user=learner,
        course=tiny.course,
        version=tiny.version,
        cycle=2,
        kind=Enrollment.Kind.REGULAR,
        enrolled_at=first.enrolled_at,
    )
    assert check("newest cycle", learner, module_quiz) == second.pk
    updater = UserFactory()
    update = Enrollment.objects.create(
        user=updater,
        course=tiny.course,
        version=tiny.version,
        kind=Enrollment.Kind.UPDATE,
        update_quiz=tiny.modules[1].quiz,
        enrolled_at=first.enrolled_at,
    )
    assert check("update quiz", updater, tiny.modules[1].quiz) == update.pk
    assert check("not the update's quiz", updater, module_quiz) is None
    exempt = UserFactory()
    services.enroll(user=exempt, course=tiny.course)
    Enrollment.objects.filter(user=exempt).update(status=Enrollment.Status.EXEMPT)
    assert check("exempt", exempt, module_quiz) is None
