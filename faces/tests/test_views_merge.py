"""The merge page offers as "Most alike" only the people whose faces look alike enough for
recognition to ask about them (the pack's suggest line); everyone else is picked by name
(issue 14, bug 9: it called everyone "Most alike" down to similarity 0.06)."""

import numpy as np
import pytest
from django.urls import reverse

from faces.calibration import suggest_line
from smartgallery.tests.factories import FaceFactory, PersonFactory

pytestmark = pytest.mark.django_db


def merge_url(person) -> str:
    return reverse("faces:person_merge", args=[person.id])


def at_similarity(unit: np.ndarray, similarity: float) -> bytes:
    """A unit vector whose cosine with `unit` is `similarity`, as stored."""
    other = np.zeros_like(unit)
    other[int(np.argmin(np.abs(unit)))] = 1.0
    other -= (other @ unit) * unit
    other /= np.linalg.norm(other)
    return (similarity * unit + np.sqrt(1 - similarity**2) * other).astype(np.float32).tobytes()


def test_the_most_alike_come_first_and_a_stranger_is_not_called_alike(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=0)
    twin = PersonFactory(owner=alice, name="Anna twin", faces=0)
    close = PersonFactory(owner=alice, name="Close", faces=0)
    stranger = PersonFactory(owner=alice, name="Stranger", faces=0)
    mine = np.frombuffer(FaceFactory(owner=alice, person=anna).embedding, dtype=np.float32)
    FaceFactory(owner=alice, person=twin, embedding=mine.tobytes())
    FaceFactory(owner=alice, person=close, embedding=at_similarity(mine, 0.8))
    FaceFactory(owner=alice, person=stranger, embedding=at_similarity(mine, 0.06))

    html = alice_client.get(merge_url(anna)).content.decode()

    assert "<h2>Most alike</h2>" in html
    assert html.index("Merge into Anna twin") < html.index("Merge into Close")
    assert "Merge into Stranger" not in html and f'<option value="{stranger.id}">Stranger</option>' in html


def test_nobody_below_the_suggest_line_is_called_alike(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=0)
    ben = PersonFactory(owner=alice, name="Ben", faces=0)
    mine = np.frombuffer(FaceFactory(owner=alice, person=anna).embedding, dtype=np.float32)
    FaceFactory(owner=alice, person=ben, embedding=at_similarity(mine, suggest_line("test") - 0.02))

    html = alice_client.get(merge_url(anna)).content.decode()

    assert "Most alike" not in html and "Merge into Ben" not in html
    assert "<h2>Pick a person</h2>" in html and f'<option value="{ben.id}">Ben</option>' in html


def test_the_line_is_the_calibrated_packs_own():
    # face_default is calibrated (faces/packs/thresholds.json); "test" is no pack: the fallback.
    assert suggest_line("face_default:6ced4e0c36ab") < suggest_line("test")


def test_bob_gets_404_on_alices_merge_page(alice, bob_client):
    anna = PersonFactory(owner=alice, name="Anna", faces=1)
    assert bob_client.get(merge_url(anna)).status_code == 404
