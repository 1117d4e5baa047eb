from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from sharing import selectors


def libraries(request: HttpRequest) -> dict:
    """The libraries shared with the user, for the switcher in the header. Lazy: the one query
    runs only when a full page draws the header, never for an htmx partial or a photo."""
    if not request.user.is_authenticated:
        return {}
    return {"shared_libraries": SimpleLazyObject(lambda: selectors.libraries_of(viewer=request.user))}
