"""The provider's claims for each account: standard ones from people.json through OIDC_USERINFO, and the
staff claims (employee id, department, job title, supervisor, groups) under a `staff` scope, as an
organisation's provider would add them (Entra ID optional claims, Okta custom claims)."""

from oidc_provider.lib.claims import ScopeClaims

from .people import people

STAFF_CLAIMS = ("employee_id", "department", "job_title", "supervisor_employee_id", "groups")


def _claims(user) -> dict:
    return people().get(user.username, {}).get("claims", {})


def userinfo(claims, user):
    mine = _claims(user)
    for name in ("given_name", "family_name", "email", "name"):
        if name in mine:
            claims[name] = mine[name]
    claims["email_verified"] = True
    return claims


class StaffClaims(ScopeClaims):
    info_staff = ("Staff record", "Employee id, department, job title, supervisor and groups.")

    def scope_staff(self):
        mine = _claims(self.user)
        return {name: mine[name] for name in STAFF_CLAIMS if name in mine}
