from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)


@register.filter
def field_problems(problems, name):
    return (problems or {}).get(name, [])


@register.filter
def split_words(text):
    return str(text).split()


@register.filter
def pairs(text):
    """ "a:Label A,b:Label B" -> [("a", "Label A"), ("b", "Label B")] (fixed lists in templates)."""
    return [tuple(part.split(":", 1)) for part in str(text).split(",")]


@register.filter
def label(name):
    return str(name).replace("_", " ").capitalize()


@register.filter
def entries(mapping):
    """A dict's (key, value) pairs; `mapping.items` in a template finds a key named "items" first."""
    return list((mapping or {}).items())


@register.filter
def markdown(text):
    """The renderer learners see (markdown-it + nh3 allow-list): safe to mark safe."""
    from django.utils.safestring import mark_safe

    from quizzes.markdown import render_markdown

    return mark_safe(render_markdown(text or ""))  # noqa: S308 - sanitised by nh3 in render_markdown


@register.filter
def sees_drafts(user):
    from authoring.access import can_see_drafts

    return can_see_drafts(user)
