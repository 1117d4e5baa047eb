"""{% photo_tile %} (gallery/templatetags/gallery_extras.py) draws exactly what the included
template gallery/_photo_tile.html drew, which it replaced (about four times cheaper;
docs/BENCHMARKS.md), on the owner's pages and on a shared library's."""

from types import SimpleNamespace

import pytest
from django.template import engines

from smartgallery.tests.factories import PhotoFactory
from smartgallery.tests.world import XSS

# gallery/_photo_tile.html as it was before the tag replaced it (main at 60313c3).
OLD_TEMPLATE = (
    "{% load gallery_extras %}{# One photo of a grid with its date (Photos by people, a person in a share"
    "d library): links through library_url. #}\n{% library_url 'photo' photo.id as photo_url %}\n<li class="
    '"photo-tile">\n  <a href="{{ photo_url }}">{% if photo.thumbnail %}<img src="{% library_url \'thumbnai'
    'l\' photo.id %}" alt="{{ photo.original_filename }}, {{ photo.taken_at|date:\'j M Y\' }}" loading="lazy'
    '">{% else %}<span class="photo-placeholder">{{ photo.original_filename }}</span>{% endif %}</a>\n  <s'
    'pan class="muted">{{ photo.taken_at|date:"j M Y" }}</span>\n</li>\n'
)


def old(photo, **context) -> str:
    return engines["django"].from_string(OLD_TEMPLATE).render({"photo": photo, **context})


def new(photo, **context) -> str:
    tag = engines["django"].from_string("{% load gallery_extras %}{% photo_tile photo %}")
    return tag.render({"photo": photo, **context})


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["IMG_0001.jpg", XSS, 'Anna & Ben\'s "day".jpg'])
@pytest.mark.parametrize("thumbnail", [True, False])
@pytest.mark.parametrize("shared", [False, True])
def test_the_tag_draws_what_the_template_drew(alice, name, thumbnail, shared):
    photo = PhotoFactory(owner=alice, original_filename=name, thumbnail="1/derivatives/t.jpg" if thumbnail else "")
    context = {"shared_library": SimpleNamespace(id=7)} if shared else {}
    assert new(photo, **context).strip() == old(photo, **context).strip()
    assert XSS not in new(photo, **context)
    assert ("/shared/7/photos/" in new(photo, **context)) == shared
