"""Template helpers of the people pages."""

from django import template
from django.template.loader import render_to_string

register = template.Library()


@register.simple_tag(takes_context=True)
def faces_undo_toast(context) -> str:
    """The Undo button of the last change made by a plain (non-htmx) form, shown once on the
    page the form redirected to, next to its message."""
    request = context.get("request")
    if request is None or not getattr(request, "user", None) or not request.user.is_authenticated:
        return ""
    token = request.session.pop("faces_undo_pending", None)
    if not token or token not in request.session.get("faces_undo", {}):
        return ""
    return render_to_string("faces/_undo_toast.html", {"undo_token": token}, request=request)
