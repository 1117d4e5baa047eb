"""Template helpers of the people pages."""

from django import template
from django.template.loader import render_to_string

from faces.responses import UNDO_PENDING_KEY, UNDO_SESSION_KEY

register = template.Library()


@register.simple_tag(takes_context=True)
def faces_undo_toast(context) -> str:
    """The Undo button of the last change made by a plain (non-htmx) form, shown once on the
    page the form redirected to, next to its message."""
    request = context.get("request")
    if request is None or not getattr(request, "user", None) or not request.user.is_authenticated:
        return ""
    token = request.session.pop(UNDO_PENDING_KEY, None)
    if not token or token not in request.session.get(UNDO_SESSION_KEY, {}):
        return ""
    return render_to_string("faces/_undo_toast.html", {"undo_token": token}, request=request)
