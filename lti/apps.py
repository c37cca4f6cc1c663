from django.apps import AppConfig


class LtiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "lti"
    verbose_name = "LTI 1.3 (LMS integration)"

    def ready(self) -> None:
        # Register the tasks at start-up: services enqueue them by name (core.queue checks at once).
        from . import tasks  # noqa: F401
