"""{% timeline_tile %} (gallery/templatetags/gallery_extras.py) draws exactly what the
timeline's `tile` partial drew before the tag replaced it (about three times cheaper;
docs/BENCHMARKS.md): processed photos, placeholders of every status, the owner's and a shared
library's routes, names that need escaping or truncating."""

from types import SimpleNamespace

import pytest
from django.template import engines

from gallery.models import Photo
from smartgallery.tests.factories import PhotoFactory
from smartgallery.tests.world import XSS

# The body of {% partialdef tile %} in gallery/_timeline.html before the tag (main at d0cec3b).
OLD_TEMPLATE = (
    "{% load gallery_extras %}\n{# One reverse per tile: the thumbnail and preview URLs are the photo's UR"
    "L + a file name (gallery/urls.py; gallery/tests/test_timeline_urls.py). #}\n{% library_url 'photo' ph"
    'oto.pk as photo_url %}\n{% if photo.thumbnail and photo.preview %}\n<a class="tile" href="{{ photo_url'
    ' }}" title="{{ photo.original_filename }}">\n  <img src="{{ photo_url }}thumbnail.jpg"\n       srcset='
    '"{{ photo_url }}thumbnail.jpg 320w, {{ photo_url }}preview.jpg 1600w"\n       sizes="(max-width: 40re'
    'm) 50vw, 12rem" alt="{{ photo.original_filename }}" loading="lazy" decoding="async">\n</a>\n{% else %}'
    '\n<a class="tile tile-placeholder tile-{{ photo.status }}" href="{{ photo_url }}" title="{{ photo.ori'
    'ginal_filename }}"\n   {% if photo.status == "queued" or photo.status == "processing" %}hx-get="{% ur'
    'l \'gallery:tile\' photo.pk %}" hx-trigger="photos-processed from:body" hx-swap="outerHTML"{% endif %}'
    '>\n  <span class="tile-status">{% if photo.status == "failed" %}Could not process{% else %}{{ photo.g'
    'et_status_display }}…{% endif %}</span>\n  <span class="tile-name">{{ photo.original_filename|truncat'
    "echars:40 }}</span>\n</a>\n{% endif %}\n"
)


def old(photo, **context) -> str:
    return engines["django"].from_string(OLD_TEMPLATE).render({"photo": photo, **context})


def new(photo, **context) -> str:
    tag = engines["django"].from_string("{% load gallery_extras %}{% timeline_tile photo %}")
    return tag.render({"photo": photo, **context})


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["IMG_0001.jpg", XSS, 'Anna & Ben\'s "day" at the lake, summer 2019, scan 0042.jpg'])
@pytest.mark.parametrize("status", [s.value for s in Photo.Status])
@pytest.mark.parametrize("derivatives", [True, False])
@pytest.mark.parametrize("shared", [False, True])
def test_the_tag_draws_what_the_partial_drew(alice, name, status, derivatives, shared):
    made = {"thumbnail": "1/derivatives/t.jpg", "preview": "1/derivatives/p.jpg"} if derivatives else {}
    photo = PhotoFactory(
        owner=alice, original_filename=name, status=status, **({"thumbnail": "", "preview": ""} | made)
    )
    context = {"shared_library": SimpleNamespace(id=7)} if shared else {}
    drawn = new(photo, **context)
    assert drawn.strip() == old(photo, **context).strip()
    assert XSS not in drawn
    assert ("/shared/7/photos/" in drawn) == shared
