from django.apps import AppConfig


class AuthoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "authoring"
    verbose_name = "Course authoring and medical review"

    def ready(self) -> None:
        # Register the Celery tasks in every process, so core.queue finds them by name.
        from . import tasks  # noqa: F401
