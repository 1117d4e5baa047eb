"""Template helpers of a shared library's People page."""

from django import template
from django.utils.safestring import mark_safe  # unsafe-ok: the card below escapes each value itself

from faces.templatetags.faces_extras import face_thumb
from gallery.templatetags.id_urls import id_url_in
from smartgallery.markup import esc

register = template.Library()


@register.simple_tag(takes_context=True)
def shared_person_card(context, person) -> str:
    """One person of a shared library's People page: the cover and name linking to the person's
    page in the share, and their photo count. `person` from sharing.selectors.shared_person_page
    (.photo_count, .cover: a face the viewer may see, or None).

    A tag rather than a partial for the reason the owner's person_card is one: 60 cards a page,
    each a `{% url %}` for the person and one for the cover, were a quarter of the page's time."""
    within = (context["shared_library"].id,)
    cover, photos = person.cover, person.photo_count
    src = id_url_in(context, "sharing:face_crop", cover.id, within=within) if cover is not None else ""
    # unsafe-ok: every value is escaped (esc), a number, or markup written here or by face_thumb.
    return mark_safe(  # noqa: S308
        '<li class="person-card">\n'
        f'  <a class="person-card-link" href="{esc(id_url_in(context, "sharing:person", person.id, within=within))}">\n'
        f"    {face_thumb(cover, alt=person.name, src=src)}\n"
        f'    <span class="person-name">{esc(person.name)}</span>\n'
        "  </a>\n"
        f'  <span class="muted person-counts">{photos} photo{"" if photos == 1 else "s"}</span>\n'
        "</li>"
    )
