"""Celery app for the fault-injection tests: the real app and tasks, with a stand-in engine.

Started by test_faults.py as `celery -A gallery.tests.fault_app worker`; never imported by the
test process itself (importing it swaps the engine of the importing process).
"""

from faces import engine_loader
from gallery.tests.faults import StandInEngine
from smartgallery.celery import app  # noqa: F401  (the app celery -A loads)

_engine = StandInEngine(engine_loader.get_engine)
engine_loader.get_engine = lambda: _engine
