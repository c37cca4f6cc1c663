"""Markdown to safe HTML: markdown-it-py renders, nh3 (an allow-list sanitiser) cleans.

Used for question stems here and for lessons by the course layer; it lives in the quiz engine (a leaf)
so the engine renders without importing the project package. Raw HTML in the source never survives; links get rel=noopener;
images keep their alt text; GitHub-style callouts (`> [!WARNING]`) become labelled asides.

Images: only the project's own drawings, written `![alt text](static:illustrations/name.svg)`; any other
image source is dropped (no tracking pixels, nothing fetched from elsewhere). Table cells get the column
heading as `data-label` so a phone can show each row as a labelled card instead of a squeezed grid.
"""

import html as html_lib
import re
from functools import lru_cache

import nh3
from django.conf import settings
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
    "aside",
    "span",
    "sup",
    "sub",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "aside": {"class", "role", "aria-label"},
    "span": {"class"},
    "th": {"align"},
    "td": {"align"},
}
CALLOUT_KINDS = {
    "WARNING": "Warning",
    "NOTE": "Note",
    "TIP": "Tip",
    "IMPORTANT": "Important",
    "CAUTION": "Caution",
}
_CALLOUT = re.compile(r"<blockquote>\s*<p>\[!(?P<kind>[A-Z]+)\]\s*(?P<rest>.*?)</blockquote>", re.DOTALL)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def _callouts(html: str) -> str:
    def replace(match: re.Match) -> str:
        kind = match.group("kind")
        label = CALLOUT_KINDS.get(kind)
        if label is None:
            return match.group(0)
        body = match.group("rest")
        return (
            f'<aside class="callout callout-{kind.lower()}" role="note" aria-label="{label}">'
            f'<p><strong class="callout-title">{label}</strong> {body}</aside>'
        )

    return _CALLOUT.sub(replace, html)


_STATIC_IMAGE = re.compile(r'src="static:(?P<path>illustrations/[a-z0-9][a-z0-9-]*\.svg)"')
_TABLE = re.compile(r"<table>(?P<body>.*?)</table>", re.DOTALL)
_HEADING = re.compile(r"<th[^>]*>(?P<text>.*?)</th>", re.DOTALL)
_ROW = re.compile(r"<tr>(?P<cells>.*?)</tr>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def illustration_prefix() -> str:
    return f"{settings.STATIC_URL}illustrations/"


def _static_images(html: str) -> str:
    return _STATIC_IMAGE.sub(lambda m: f'src="{settings.STATIC_URL}{m.group("path")}"', html)


def _only_own_images(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src":
        path = value[len(illustration_prefix()) :]
        if not value.startswith(illustration_prefix()) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*\.svg", path):
            return None
    return value


def _labelled_tables(html: str) -> str:
    """Runs on sanitised HTML: the labels are heading text, tags stripped and escaped again."""

    def table(match: re.Match) -> str:
        body = match.group("body")
        head, _, rest = body.partition("</thead>")
        labels = [
            html_lib.escape(html_lib.unescape(_TAG.sub("", m.group("text"))).strip(), quote=True)
            for m in _HEADING.finditer(head)
        ]
        if not rest or not labels:
            return match.group(0)

        def row(row_match: re.Match) -> str:
            position = iter(labels)
            cells = re.sub(
                r"<td(?=[ >])",
                lambda _: f'<td data-label="{next(position, "")}"',
                row_match.group("cells"),
            )
            return f"<tr>{cells}</tr>"

        return f'<table class="stack">{head}</thead>{_ROW.sub(row, rest)}</table>'

    return _TABLE.sub(table, html)


def render_markdown(text: str) -> str:
    html = _static_images(_callouts(_parser().render(text or "")))
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        attribute_filter=_only_own_images,
    )
    return _labelled_tables(clean)
