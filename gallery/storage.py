"""Writing to the default storage without leaving part of a file behind, and deleting from it.

Django's FileSystemStorage creates the file, then writes it chunk by chunk; when a write fails
(ENOSPC: the disk is full; EIO) the half-written file stays on disk, under a name nobody
records. Every stored file of the project is written through storage_save and deleted through
storage_delete.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

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


def storage_delete(names: Iterable[str]) -> None:
    """Delete stored files. Called once their rows are gone (after commit) or were never
    written, so a file that cannot be deleted is logged and left for check_integrity to find:
    failing here would undo nothing."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("Could not delete stored file %s", name, exc_info=True)
