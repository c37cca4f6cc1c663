import json

from django.conf import settings


def people() -> dict:
    """{username: {"password": ..., "claims": {...}}}: read afresh on every request."""
    return json.loads((settings.STATE_DIR / "people.json").read_text())


def faults() -> dict:
    path = settings.STATE_DIR / "faults.json"
    return json.loads(path.read_text()) if path.exists() else {}
