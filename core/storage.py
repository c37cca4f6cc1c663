"""Private file storage: certificate PDFs, answer exports and evidence packs are served only through
permission-checked views (never from MEDIA_URL, in any mode), and each file is saved under a random
directory, so a name cannot be guessed even if a web server were ever pointed at MEDIA_ROOT."""

import os
import secrets

from django.core.files.storage import FileSystemStorage


class PrivateFileSystemStorage(FileSystemStorage):
    def get_available_name(self, name, max_length=None):
        # Every save goes through here (FieldFile.save and Storage.save alike).
        dirname, basename = os.path.split(name)
        return super().get_available_name(
            os.path.join(dirname, secrets.token_urlsafe(16), basename), max_length
        )

    def url(self, name):
        raise ValueError("Private files have no public URL; serve them through a permission-checked view.")
