"""Comparing two answers page by page."""

import re

# Django masks the CSRF token anew in every response (BREACH), so two renders of one page
# differ there and nowhere else.
_CSRF = re.compile(rb'("x-csrftoken": "|name="csrfmiddlewaretoken" value=")[A-Za-z0-9]+')


def without_csrf_tokens(content: bytes) -> bytes:
    """The page with its CSRF tokens blanked: what must be equal in two answers."""
    return _CSRF.sub(rb"\1", content)
