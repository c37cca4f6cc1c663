"""Our stored questions back into specs (the shape of a YAML bank), for every export."""

from decimal import Decimal

from django.db.models import Prefetch

from quizzes.models import Choice, Question, QuestionBank


def _number(text):
    value = Decimal(str(text))
    return int(value) if value == value.to_integral_value() else float(value)


def question_spec(question: Question) -> dict:
    """The spec `load_course` would turn into exactly this question (choices and parts prefetched)."""
    spec = {
        "key": question.key,
        "type": question.type,
        "objective": question.objective,
        "difficulty": question.difficulty,
        "critical": question.critical,
        "source": question.source,
        "stem": question.stem,
        "explanation": question.explanation,
    }
    if question.clinically_significant:
        spec["clinically_significant"] = True
    choices = list(question.choices.all())
    qtype = question.type
    if qtype in ("single", "multiple"):
        spec["choices"] = [
            {"text": c.text, "correct": c.correct, **({"feedback": c.feedback} if c.feedback else {})}
            for c in choices
        ]
        if qtype == "multiple":
            spec["scoring"] = question.scoring
    elif qtype == "true_false":
        by_text = {c.text: c for c in choices}
        spec["answer"] = by_text["True"].correct
        for label in ("True", "False"):
            if by_text[label].feedback:
                spec[f"feedback_{label.lower()}"] = by_text[label].feedback
    elif qtype == "ordering":
        spec["items"] = [c.text for c in choices]
    elif qtype == "matching":
        spec["pairs"] = [{"left": c.text, "right": c.match_text} for c in choices]
        if question.data.get("extra_right"):
            spec["extra_right"] = list(question.data["extra_right"])
    elif qtype == "numeric":
        data = question.data
        if "value" in data:
            spec["answer"] = {"value": _number(data["value"]), "tolerance": _number(data.get("tolerance", 0))}
        else:
            spec["answer"] = {"min": _number(data["min"]), "max": _number(data["max"])}
        if data.get("unit"):
            spec["unit"] = data["unit"]
    elif qtype == "scenario":
        spec["parts"] = [question_spec(part) for part in question.current_parts]
    return spec


def bank_specs(bank: QuestionBank) -> list[dict]:
    """The bank's current questions as specs, in the order they were loaded. Fixed query count."""
    choices = Prefetch("choices", queryset=Choice.objects.order_by("position"))
    parts = Prefetch(
        "parts",
        queryset=Question.objects.filter(is_current=True).order_by("position").prefetch_related(choices),
        to_attr="current_parts",
    )
    questions = (
        Question.objects.filter(bank=bank, is_current=True, parent__isnull=True)
        .order_by("pk")
        .prefetch_related(choices, parts)
    )
    return [question_spec(q) for q in questions]
