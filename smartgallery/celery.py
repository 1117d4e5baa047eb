"""The Celery app, configured from Django settings (every CELERY_* setting)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgallery.settings")

app = Celery("smartgallery")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="smartgallery.ping")
def ping(payload: str = "pong") -> str:
    """Smoke task: proves a round trip web -> broker -> worker -> result."""
    return payload
