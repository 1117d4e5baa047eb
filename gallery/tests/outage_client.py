"""A web process of its own for the broker-outage test (test_faults_processes.py, catalogue D2).

Run as `python -m gallery.tests.outage_client` with REDIS_URL pointing at a redis-server the
test starts and stops; the test's own process keeps its broker. It reads one command per line
on stdin and answers one JSON line on stdout:

    login <user id>   -> {"ok": true}
    upload <path>     -> {"status": 201, "photo_id": 7}   (POST /upload/ as that user)
    sweep             -> {"requeued": 1}                  (the sweeper, as if its delay had passed)
"""

import json
import sys
from datetime import timedelta
from pathlib import Path

import django


def main() -> None:
    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import User
    from gallery import services
    from gallery.models import Photo

    setup_test_environment()  # lets the test client's host in; nothing else changes
    client = Client()
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "login":
            client.force_login(User.objects.get(pk=int(argument)))
            answer = {"ok": True}
        elif command == "upload":
            path = Path(argument)
            response = client.post(
                reverse("gallery:upload"),
                {"files": [SimpleUploadedFile(path.name, path.read_bytes())]},
                HTTP_HX_REQUEST="true",
            )
            photo = Photo.objects.filter(original_filename=path.name).order_by("-pk").first()
            answer = {"status": response.status_code, "photo_id": photo.pk if photo else None}
        elif command == "sweep":
            answer = services.photos_requeue_stuck(now=timezone.now() + timedelta(hours=1))
        else:
            break
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
