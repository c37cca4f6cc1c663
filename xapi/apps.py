from django.apps import AppConfig


class XapiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xapi"
    verbose_name = "xAPI statements to a learning record store"

    def ready(self) -> None:
        # Register the sending task in every process, so core.queue finds it by name.
        from . import tasks  # noqa: F401
