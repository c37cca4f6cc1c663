from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"

    def ready(self) -> None:
        # Register the Celery tasks in every process, so core.queue finds them by name (web processes
        # enqueue; the embedded run executes them eagerly).
        from courses import tasks  # noqa: F401
