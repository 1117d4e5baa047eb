"""HTML of a page region drawn from the owner's library, rendered once per change of it.

The People page's cards, forms and name list are the same for every request while the library
is unchanged (smartgallery.library_cache), and rendering them (building hundreds of model
objects, escaping thousands of attributes) is most of what a warm request costs. A region is
kept as HTML under the owner's library version, keyed by everything else it depends on (the
page's parameters, given in `key`), and so must depend on nothing else: not the session, the
messages, another owner's data (shared libraries are not kept), the time of day.

Its forms carry a CSRF token, which belongs to one browser: the region is rendered with a
placeholder in its place, and each request gets its own token put in.
"""

import hashlib
from collections.abc import Callable

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe  # unsafe-ok: templates' escaped output, kept

from smartgallery import library_cache

# Letters, digits and dashes only: escaping leaves it as it is wherever the token is written.
CSRF_PLACEHOLDER = "csrf-token-of-the-request-kept-out-of-the-cache"


def library_fragment(
    request: HttpRequest, key: str | None, template_name: str, context: Callable[[], dict]
) -> SafeString:
    """template_name rendered with context() for the user's library as it is now: from the cache
    while nothing changed (context() is not called then). `key` names the region and every
    parameter its HTML depends on besides the library; None: rendered, not kept (a search's
    results: one kept page per text typed would fill the cache for nothing)."""

    def render() -> str:
        return render_to_string(template_name, {**context(), "csrf_token": CSRF_PLACEHOLDER}, request)

    if key is None:
        html = render()
    else:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # keys of any length, any text
        html = library_cache.cached(request.user.pk, f"html:{digest}", render)
    # unsafe-ok: autoescaped template output, and a token of letters and digits put in it.
    return mark_safe(html.replace(CSRF_PLACEHOLDER, get_token(request)))  # noqa: S308
