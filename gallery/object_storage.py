"""Media in an S3-compatible bucket (S3_BUCKET): django-storages' S3Storage, failing as a disk does.

The project treats storage failures as OSError everywhere: an upload answers 507, the import
command skips the file, the pipeline retries the photo with backoff (gallery.tasks), a file
that cannot be deleted after commit is logged and left for `check_integrity`. boto3 raises
its own exceptions instead (EndpointConnectionError, ClientError for a 500 or SlowDown,
S3UploadFailedError), none of them an OSError, so with a bucket a storage outage failed
photos for good and turned a photo delete into a 500 after the row was gone. Here they are
raised again as ObjectStorageError, an OSError, with the original chained.

Imported only when S3_BUCKET is set (settings name it by path), so web processes of a disk
installation never load boto3.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from storages.backends.s3 import S3File, S3Storage
from storages.utils import clean_name

BOTO_ERRORS = (BotoCoreError, ClientError, Boto3Error)


class ObjectStorageError(OSError):
    """The bucket did not answer, or refused (the boto3 exception is the __cause__)."""


@contextmanager
def as_os_error(action: str, name: str) -> Iterator[None]:
    try:
        yield
    except BOTO_ERRORS as exc:
        raise ObjectStorageError(f"Object storage could not {action} {name!r}: {exc}") from exc


class ObjectStorageFile(S3File):
    """S3File downloads on first read; that download fails as OSError too. Files are written
    with Storage.save (one upload), never through open("wb"), so writing is not wrapped."""

    def _get_file(self):
        with as_os_error("read", self.name):
            return super()._get_file()

    file = property(_get_file, S3File._set_file)


class ObjectStorage(S3Storage):
    def get_default_settings(self):
        defaults = super().get_default_settings()
        # S3File downloads an object into a SpooledTemporaryFile that, by django-storages'
        # default (0), never spills to disk: a 50 MB original sent to its owner sat whole in the
        # web process. Spill above the size Django keeps uploads in memory.
        defaults["max_memory_size"] = settings.FILE_UPLOAD_MAX_MEMORY_SIZE
        return defaults

    def _open(self, name, mode="rb"):
        # As S3Storage._open (a missing object is FileNotFoundError), with our file class.
        key = self._normalize_name(clean_name(name))
        try:
            return ObjectStorageFile(key, mode, self)
        except ClientError as err:
            if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                raise FileNotFoundError(f"File does not exist: {key}") from err
            raise ObjectStorageError(f"Object storage could not open {name!r}: {err}") from err
        except BOTO_ERRORS as err:
            raise ObjectStorageError(f"Object storage could not open {name!r}: {err}") from err

    def _save(self, name, content):
        with as_os_error("store", name):
            return super()._save(name, content)

    def delete(self, name):
        with as_os_error("delete", name):
            super().delete(name)

    def exists(self, name):
        with as_os_error("look up", name):
            return super().exists(name)

    def listdir(self, name):
        with as_os_error("list", name):
            return super().listdir(name)

    def size(self, name):
        with as_os_error("read the size of", name):
            return super().size(name)

    def get_modified_time(self, name):
        with as_os_error("read the time of", name):
            return super().get_modified_time(name)

    def delete_tree(self, prefix: str) -> None:
        """Delete every object under `prefix`/: one request per 1,000 objects (DeleteObjects),
        where deleting them one by one would take one request each (an account of 10,000
        photos has some 50,000 objects)."""
        with as_os_error("delete the objects under", prefix):
            key = self._normalize_name(clean_name(prefix)).rstrip("/") + "/"
            answers = self.bucket.objects.filter(Prefix=key).delete()
        refused = [error for answer in answers for error in answer.get("Errors", ())]
        if refused:
            raise ObjectStorageError(f"Object storage kept {len(refused)} objects under {prefix!r}: {refused[:3]}")
