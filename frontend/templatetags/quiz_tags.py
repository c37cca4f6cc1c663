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


@register.filter
def mmss(seconds) -> str:
    """Seconds as m:ss (h:mm:ss from an hour), the way the attempt page's timer counts."""
    try:
        seconds = max(0, int(seconds))
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def position_for(question, item_id) -> str:
    """The position shown for an ordering step: what the learner just posted when the page comes back
    with a form error, otherwise the saved order's."""
    posted = question.get("posted_positions")
    if posted is not None:
        return posted.get(item_id, "")
    order = (question.get("response") or {}).get("order") or []
    return str(order.index(item_id) + 1) if item_id in order else ""


@register.filter
def hours_minutes(seconds) -> str:
    from courses.certificates.services import hours_minutes as format_hours

    return format_hours(seconds or 0)


@register.filter
def score(value) -> str:
    """A percentage score as people read it: 93.33 -> "93.3", 80.00 -> "80". Truncated, never rounded
    up, so 79.96 (not passed at an 80% pass mark) never shows as 80."""
    from decimal import ROUND_DOWN, Decimal, InvalidOperation

    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    except InvalidOperation:
        return str(value)
    return str(number.to_integral_value()) if number == number.to_integral_value() else str(number)
