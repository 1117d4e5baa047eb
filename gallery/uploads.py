"""Upload handler that stops reading a file as soon as it is larger than we accept.

Listed first in FILE_UPLOAD_HANDLERS. Django streams a big upload to a temporary file, but it
would still read and store every byte; this handler skips the rest of an oversized file (its
temporary file is closed and deleted by Django) and records its name on the request, so the
upload view can answer 413 with a message for that file and still handle the others.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class SizeLimitUploadHandler(FileUploadHandler):
    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.limit = settings.SMARTGALLERY_MAX_UPLOAD_BYTES
        self.received = 0
        if request is not None and not hasattr(request, "oversized_uploads"):
            request.oversized_uploads = []

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            if self.request is not None:
                self.request.oversized_uploads.append(self.file_name or "")
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
