"""What the template tags that write markup in Python share (the tiles, cards and answer forms
a page draws by the dozen: docs/BENCHMARKS.md, Web). Every value such a tag puts in its markup
goes through esc(); the tag then marks the whole string safe, with its reason beside it
(smartgallery/tests/test_escaping.py wants a reason beside each such call)."""

from __future__ import annotations

import html

from django.template.defaulttags import CsrfTokenNode

_CSRF = CsrfTokenNode()


def esc(value) -> str:
    """conditional_escape() without its lazy-argument check: these arguments are never lazy,
    and the check was a fifth of the answer forms' time. Markup already safe (a SafeString,
    another tag's output) is kept as it is, as conditional_escape does."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def csrf_input(context) -> str:
    """What {% csrf_token %} writes, once a render: the token is the same in every form of a
    response anyway (the context's lazy token is masked once)."""
    rendered = context.render_context.get(_CSRF)
    if rendered is None:
        rendered = context.render_context[_CSRF] = _CSRF.render(context)
    return rendered
