"""Writing to the default storage without leaving part of a file behind.

Django's FileSystemStorage creates the file, then writes it chunk by chunk; when a write fails
(ENOSPC: the disk is full; EIO) the half-written file stays on disk, under a name nobody
records. Every stored file of the project is written through storage_save.
"""

from __future__ import annotations

import logging

from django.core.files.storage import default_storage

logger = logging.getLogger(__name__)


def storage_save(name: str, content) -> str:
    """default_storage.save(name, content); on failure, the part written is removed again.

    Names here are generated (uuid), so the name chosen up front is the one written."""
    target = default_storage.get_available_name(name)
    try:
        return default_storage.save(target, content)
    except OSError:
        try:
            default_storage.delete(target)
        except OSError:
            logger.warning("Could not remove the partly written file %s", target, exc_info=True)
        raise
