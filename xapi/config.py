"""What a program configures (settings read from the environment in elearn/settings/base.py)."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class XapiConfig:
    endpoint: str  # the LRS's xAPI base, e.g. https://lrs.example.org/xAPI/ ("statements" is appended)
    username: str
    password: str
    account_homepage: str  # the actor's account.homePage; account.name is the employee id
    activity_base: str  # activity ids are IRIs under this
    actor_email: bool  # identify actors by mbox instead of account (only when a program asks for it)
    batch_size: int
    timeout_seconds: float

    @property
    def statements_url(self) -> str:
        return self.endpoint.rstrip("/") + "/statements"


def enabled() -> bool:
    """Off (and free: no query, no row, no task) unless an LRS endpoint is configured."""
    return bool(getattr(settings, "XAPI_LRS_ENDPOINT", ""))


def current() -> XapiConfig:
    return XapiConfig(
        endpoint=settings.XAPI_LRS_ENDPOINT,
        username=settings.XAPI_LRS_USERNAME,
        password=settings.XAPI_LRS_PASSWORD,
        account_homepage=settings.XAPI_ACCOUNT_HOMEPAGE.rstrip("/"),
        activity_base=settings.XAPI_ACTIVITY_BASE.rstrip("/"),
        actor_email=settings.XAPI_ACTOR_EMAIL,
        batch_size=settings.XAPI_BATCH_SIZE,
        timeout_seconds=settings.XAPI_TIMEOUT_SECONDS,
    )
