"""Markdown to safe HTML: markdown-it-py renders, nh3 (an allow-list sanitiser) cleans.

Used for lessons and question stems. Raw HTML in the source never survives; links get rel=noopener;
images keep their alt text; GitHub-style callouts (`> [!WARNING]`) become labelled asides.
"""

import re
from functools import lru_cache

import nh3
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


def render_markdown(text: str) -> str:
    html = _callouts(_parser().render(text or ""))
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
