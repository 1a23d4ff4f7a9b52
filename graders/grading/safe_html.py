"""Student markup shown as data: HTML from a student's markdown, cleaned to harmless formatting.

Feedback renders the student's written answers and own markdown cells; rendered as they are, a <script> or an
onerror= in them would run in whoever opens the page. `clean` keeps text formatting, lists, tables, headings,
sub/superscripts, code, links to http(s) and images embedded as data URIs, and drops everything else
(bleach, the sanitiser nbconvert itself uses). No class or style attribute: a student's answer must not dress up as
the page's own score badges.
"""

import bleach

TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title"], "td": ["align"], "th": ["align"]}


def _attribute_allowed(tag, name, value):
    if name == "src":
        return tag == "img" and value.startswith("data:image/") and ";base64," in value
    if name == "href":
        return value.startswith(("http://", "https://", "#"))
    return name in ATTRIBUTES.get(tag, [])  # no class or style: the page's own look is not the student's to borrow


def clean(html):
    """html with only harmless markup left (script, style, event handlers and javascript: URLs removed)."""
    return bleach.clean(
        str(html),
        tags=TAGS,
        attributes=_attribute_allowed,
        protocols={"http", "https", "data"},
        strip=True,
        strip_comments=True,
    )
