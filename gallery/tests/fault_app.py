"""Celery app for the fault-injection tests: the real app and tasks, with a stand-in engine.

Started by test_faults.py as `celery -A gallery.tests.fault_app worker`; never imported by the
test process itself (importing it swaps the engine of the importing process).
"""

import os

from faces import engine_loader
from gallery.tests.faults import StandInEngine
from smartgallery.celery import app

_engine = StandInEngine(engine_loader.get_engine)
engine_loader.get_engine = lambda: _engine

if os.environ.get("FAULT_UNACKED_RESTORE_INTERVAL"):
    # kombu's Redis transport looks for messages past their visibility timeout every
    # interval x throttle seconds (10 x 10 by default): every interval here, so a test with a
    # short visibility timeout sees the redelivery about when the timeout ends.
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "unacked_restore_interval": int(os.environ["FAULT_UNACKED_RESTORE_INTERVAL"]),
        "unacked_restore_throttle": 1,
    }
