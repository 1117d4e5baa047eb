"""A `next` field or parameter never sends anyone anywhere but a page of this site, and never
breaks a page (found by our own probe, issue 15: next=-1 on the person page was a 500).

Every route of the URLconf, by every method it takes, as the owner on her own objects: like
the isolation matrix, a route added tomorrow is covered the day it is added.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from smartgallery.tests.test_isolation_matrix import ROUTES, send, url_for
from smartgallery.tests.world import plain_routes

HOSTILE_NEXT = [
    "-1",
    "0",
    "home",  # a URL pattern's name: redirect() would reverse it
    "faces:people",
    "<x>",
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example/",
    "javascript:alert(1)",
    "http:evil.example",
]


@pytest.mark.django_db
@pytest.mark.parametrize("route", [*plain_routes(), *ROUTES], ids=str)
def test_a_hostile_next_is_never_followed_and_never_an_error(route, alice_client, alice_objects):
    url = url_for(route, alice_objects) if route.kwargs else None
    if url is None:
        from django.urls import reverse

        url = reverse(route.name)
    for method in ("get", "post"):
        for value in HOSTILE_NEXT:
            query = url + ("&" if "?" in url else "?") + "next=" + value.replace("&", "%26")
            for target, data in ((query, {}), (url, {"next": value})):
                response = send(alice_client, method, target, data=data)
                assert response.status_code < 500, f"{method.upper()} {target} next={value!r}: {response.status_code}"
                location = response.get("Location", "")
                if location:
                    # Somewhere on this site: no scheme, no host (a relative path is fine).
                    parts = urlsplit(location)
                    assert not parts.scheme and not parts.netloc and not location.startswith(("//", "/\\", "\\")), (
                        f"{method.upper()} {target} next={value!r} went to {location!r}"
                    )
                    assert "evil" not in location, f"{method.upper()} {target} next={value!r} went to {location!r}"
