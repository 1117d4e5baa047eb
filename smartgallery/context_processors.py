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


def navigation(request: HttpRequest) -> dict:
    if not request.user.is_authenticated:
        return {}
    items = []
    for label, name in NAVIGATION:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "current": request.path == url})
    return {"nav_items": items}
