from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

# (label, URL name) in display order. Entries whose URL is not installed yet are skipped,
# so an app adds itself to the navigation by adding its URL.
NAVIGATION = [
    ("Photos", "gallery:timeline"),
    ("Upload", "gallery:upload"),
    ("People", "faces:people"),
    ("Review", "faces:review"),
    ("Account", "account_settings"),
    ("Sign out", "account_logout"),
]
# In a library shared with the user (sharing app, /shared/<share_id>/...): what it offers to
# read, then the user's own account entries. Nothing that would upload or review into it.
LIBRARY_NAVIGATION = [("Photos", "sharing:library"), ("People", "sharing:people")]
ACCOUNT_NAVIGATION = NAVIGATION[-2:]


def navigation(request: HttpRequest) -> dict:
    """`nav_items`: the header's links (a shared library's own, inside one). `own_nav_items`: the
    user's own library's, for the error pages: a 404 for a revoked or foreign share must not
    offer links into the library its URL names."""
    if not request.user.is_authenticated:
        return {}
    own = _items(request, NAVIGATION, {})
    match = request.resolver_match
    if match is not None and match.namespace == "sharing" and "share_id" in match.kwargs:
        kwargs = {"share_id": match.kwargs["share_id"]}
        return {"nav_items": _items(request, LIBRARY_NAVIGATION + ACCOUNT_NAVIGATION, kwargs), "own_nav_items": own}
    return {"nav_items": own, "own_nav_items": own}


def _items(request: HttpRequest, entries: list[tuple[str, str]], kwargs: dict) -> list[dict]:
    items = []
    for label, name in entries:
        try:
            url = reverse(name, kwargs=kwargs if name.startswith("sharing:") else None)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "current": request.path == url})
    return items
