"""Single sign-on settings, read from the environment (imported by elearn/settings/base.py).

SSO is on when OIDC_ISSUER and OIDC_CLIENT_ID are set; the provider's endpoints and keys come from its
discovery document (`<issuer>/.well-known/openid-configuration`), fetched on the first sign-in, not at
start-up, so an unreachable provider never stops the site or password logins. No Django imports here
beyond what settings may import."""

DEFAULT_SCOPES = "openid email profile"


def settings_from_env(env) -> dict:
    """The SSO block of the settings. Every name is documented in the README (Single sign-on)."""
    issuer = env("OIDC_ISSUER", default="").rstrip("/")
    return {
        "OIDC_ISSUER": issuer,
        "OIDC_RP_CLIENT_ID": env("OIDC_CLIENT_ID", default=""),
        "OIDC_RP_CLIENT_SECRET": env("OIDC_CLIENT_SECRET", default=""),
        "OIDC_RP_SCOPES": env("OIDC_SCOPES", default=DEFAULT_SCOPES),
        "OIDC_RP_SIGN_ALGO": env("OIDC_SIGN_ALGORITHM", default="RS256"),
        # The button's words on the login page ("Sign in with Contoso").
        "OIDC_PROVIDER_NAME": env("OIDC_PROVIDER_NAME", default="your organisation"),
        # Authorization code flow with PKCE (S256); state and nonce are always checked.
        "OIDC_USE_PKCE": True,
        "OIDC_USE_NONCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_AUTHENTICATION_CALLBACK_URL": "sso:callback",
        # How the engine authenticates at the token endpoint: client_secret_post (default) or
        # client_secret_basic (HTTP Basic; Okta's default for web apps).
        "OIDC_TOKEN_USE_BASIC_AUTH": env("OIDC_TOKEN_AUTH_METHOD", default="client_secret_post")
        == "client_secret_basic",
        "OIDC_TIMEOUT": env.float("OIDC_TIMEOUT_SECONDS", default=10),
        # Claims are read from the ID token and, unless turned off, the userinfo endpoint (same subject).
        "OIDC_USE_USERINFO": env.bool("OIDC_USE_USERINFO", default=True),
        # Seconds of clock difference tolerated when checking exp/iat.
        "OIDC_CLOCK_SKEW_SECONDS": env.int("OIDC_CLOCK_SKEW_SECONDS", default=60),
        # The one claim mapping (sso/claims.py): engine field -> claim name.
        "OIDC_CLAIM_EMPLOYEE_ID": env("OIDC_CLAIM_EMPLOYEE_ID", default="employee_id"),
        "OIDC_CLAIM_FIRST_NAME": env("OIDC_CLAIM_FIRST_NAME", default="given_name"),
        "OIDC_CLAIM_LAST_NAME": env("OIDC_CLAIM_LAST_NAME", default="family_name"),
        "OIDC_CLAIM_EMAIL": env("OIDC_CLAIM_EMAIL", default="email"),
        "OIDC_CLAIM_DEPARTMENT": env("OIDC_CLAIM_DEPARTMENT", default="department"),
        "OIDC_CLAIM_JOB_TITLE": env("OIDC_CLAIM_JOB_TITLE", default="job_title"),
        "OIDC_CLAIM_SUPERVISOR": env("OIDC_CLAIM_SUPERVISOR", default="supervisor_employee_id"),
        "OIDC_CLAIM_GROUPS": env("OIDC_CLAIM_GROUPS", default="groups"),
        # Group -> role, e.g. "Training-Admins=admin,Shift-Supervisors=supervisor". No match: learner.
        "OIDC_ROLE_GROUPS": env("OIDC_ROLE_GROUPS", default=""),
        # Claims every sign-in must carry with these values, e.g. "hd=lakeside.org" (Google Workspace's
        # hosted domain): a token from outside the organisation is refused.
        "OIDC_REQUIRE_CLAIMS": env.list("OIDC_REQUIRE_CLAIMS", default=[]),
        # Create people at their first sign-in (just in time); off: only people already in the engine
        # (staff CSV import, admin) may sign in, and are linked by employee id.
        "OIDC_CREATE_USERS": env.bool("OIDC_CREATE_USERS", default=True),
        # Local passwords for people who sign in through SSO: off refuses their password logins (site,
        # admin, API token) and makes their password unusable at each SSO sign-in.
        "OIDC_LOCAL_PASSWORDS": env.bool("OIDC_LOCAL_PASSWORDS", default=True),
        # The engine's own second factor (accounts/mfa.py) is satisfied for an SSO session when the ID
        # token's `amr` holds one of these values (the provider did multi-factor); empty: never.
        "OIDC_MFA_AMR_VALUES": env.list("OIDC_MFA_AMR_VALUES", default=["mfa"]),
    }


def check_production(issuer: str, client_id: str, client_secret: str) -> None:
    """Production settings refuse to start with a half or unsafe SSO configuration (the group-to-role
    mapping is checked by the system check in sso/apps.py, against the roles themselves)."""
    from django.core.exceptions import ImproperlyConfigured

    if not (issuer or client_id):
        return
    if not issuer.startswith("https://"):
        raise ImproperlyConfigured("OIDC_ISSUER must be the provider's https:// issuer URL.")
    if not client_id or not client_secret:
        raise ImproperlyConfigured("Set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET with OIDC_ISSUER.")
