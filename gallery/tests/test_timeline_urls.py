"""The timeline tile builds its thumbnail and preview URLs from the photo's URL (one reverse per
tile instead of four; docs/BENCHMARKS.md, Web): they must stay the URLs the views answer on."""

import pytest
from django.urls import resolve, reverse

from gallery import views
from gallery.tests.test_timeline import bulk_photos


@pytest.mark.parametrize("pk", [1, 42, 9_876_543])
def test_thumbnail_and_preview_urls_are_the_photo_url_plus_a_file_name(pk):
    photo_url = reverse("gallery:photo", args=[pk])
    assert reverse("gallery:thumbnail", args=[pk]) == photo_url + "thumbnail.jpg"
    assert reverse("gallery:preview", args=[pk]) == photo_url + "preview.jpg"
    assert resolve(photo_url + "thumbnail.jpg").func is views.photo_thumbnail
    assert resolve(photo_url + "preview.jpg").func is views.photo_preview


@pytest.mark.django_db
def test_a_tile_links_the_photo_page_thumbnail_and_preview(alice_client, alice):
    (photo,) = bulk_photos(alice, 1)
    html = alice_client.get(reverse("gallery:timeline")).content.decode()
    thumbnail, preview = reverse("gallery:thumbnail", args=[photo.pk]), reverse("gallery:preview", args=[photo.pk])
    assert f'href="{reverse("gallery:photo", args=[photo.pk])}"' in html
    assert f'src="{thumbnail}"' in html
    assert f'srcset="{thumbnail} 320w, {preview} 1600w"' in html
