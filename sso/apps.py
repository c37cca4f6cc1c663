from django.apps import AppConfig
from django.core import checks


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = "Single sign-on (OpenID Connect)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        checks.register(check_role_groups)


def check_role_groups(app_configs=None, **kwargs):
    """OIDC_ROLE_GROUPS must name roles SSO may give (sso.claims.ROLE_ORDER)."""
    from . import claims

    try:
        claims.role_groups()
    except ValueError as exc:
        return [checks.Error(str(exc), id="sso.E001")]
    return []
