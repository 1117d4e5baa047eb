import pytest

from smartgallery.celery import app, ping


def test_celery_is_configured_for_reliable_delivery():
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.task_always_eager is False


def test_ml_tasks_are_routed_to_the_faces_queue():
    routes = app.conf.task_routes
    assert routes["faces.tasks.*"] == {"queue": "faces"}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_smoke_task_makes_a_round_trip_through_a_real_worker(celery_worker_process):
    result = ping.delay("hello from the test")
    assert result.get(timeout=30) == "hello from the test"
