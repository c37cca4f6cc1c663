from django import template

register = template.Library()


@register.filter
def picked(response, choice_id) -> bool:
    return bool(response) and choice_id in (response.get("choice_ids") or [])


@register.filter
def position_of(response, item_id) -> int | None:
    order = (response or {}).get("order") or []
    return order.index(item_id) + 1 if item_id in order else None


@register.filter
def matched(response, left_id) -> str:
    return ((response or {}).get("pairs") or {}).get(left_id, "")


@register.filter
def numeric_value(response) -> str:
    value = (response or {}).get("value")
    return "" if value is None else str(value)


@register.filter
def positions(items) -> range:
    return range(1, len(items) + 1)


@register.filter
def texts_in_order(items, answer) -> list[str]:
    """Item texts in the order an answer ({"order": [...]}, possibly None) gives."""
    by_id = {item["id"]: item["text"] for item in items or []}
    return [by_id[i] for i in (answer or {}).get("order") or [] if i in by_id]


@register.filter
def right_text(question, right_id) -> str:
    return next((r["text"] for r in question.get("right", []) if r["id"] == right_id), "")


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def status_today(certificate, today) -> str:
    return certificate.status_on(today)


@register.filter
def words(value) -> str:
    """snake_case state names as words: in_progress -> in progress."""
    return str(value or "").replace("_", " ")
