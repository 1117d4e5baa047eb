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
    if not request.user.is_authenticated:
        return {}
    entries, kwargs = NAVIGATION, {}
    match = request.resolver_match
    if match is not None and match.namespace == "sharing" and "share_id" in match.kwargs:
        entries, kwargs = LIBRARY_NAVIGATION + ACCOUNT_NAVIGATION, {"share_id": match.kwargs["share_id"]}
    items = []
    for label, name in entries:
        try:
            url = reverse(name, kwargs=kwargs if name.startswith("sharing:") else None)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "current": request.path == url})
    return {"nav_items": items}
