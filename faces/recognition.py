"""Recognition of a photo's new faces against the owner's named people.

Called by the photo pipeline right after a photo's faces are stored. The people work
(per-user FAISS index, k-NN vote with margin, suggestions, unnamed groups) fills this in.
"""

from gallery.models import Photo


def recognise_photo(*, photo: Photo) -> None:
    """Match the photo's unknown faces against the owner's people and update their state."""
    return None
