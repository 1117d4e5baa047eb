"""What tests count among the callbacks a transaction runs on commit."""

from smartgallery import library_cache


def work_after_commit(callbacks: list) -> list:
    """The callbacks of the work a commit starts (tasks queued), without the new library versions
    (smartgallery.library_cache) that every write of photos, persons and faces sets on commit."""
    return [callback for callback in callbacks if getattr(callback, "func", None) is not library_cache.new_versions]
