from django import template
from django.conf import settings

from sso import provider

register = template.Library()


@register.inclusion_tag("sso/button.html")
def sso_button(next_url=""):
    """The "Sign in with ..." button, only when single sign-on is configured."""
    return {
        "enabled": provider.is_configured(),
        "provider_name": getattr(settings, "OIDC_PROVIDER_NAME", ""),
        "next": next_url,
    }
