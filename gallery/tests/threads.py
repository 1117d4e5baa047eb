"""Real threads for the concurrency tests (catalogue F): each has its own database
connection, closed when it ends, and hands back its result or its exception."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

WAIT_SECONDS = 30


class Runner(threading.Thread):
    """Runs `work` in a named thread; `join_checked()` returns its result or raises its error."""

    def __init__(self, name: str, work: Callable[[], Any]) -> None:
        super().__init__(name=name, daemon=True)
        self.work = work
        self.result: Any = None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            self.result = self.work()
        except Exception as exc:  # noqa: BLE001 (handed to the test, which fails with it)
            self.error = exc
        finally:
            connections.close_all()

    def join_checked(self, timeout: float = WAIT_SECONDS) -> Any:
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"thread {self.name} still running after {timeout}s")
        if self.error is not None:
            raise AssertionError(f"thread {self.name} failed: {self.error!r}") from self.error
        return self.result


class Gate:
    """Parks one named thread inside a function until the test lets it go.

    `gate.install(monkeypatch, module, "name")` wraps module.name: in the thread called
    `thread_name` (once), the wrapper signals `parked` and waits for `release()` before (or
    after, with after=True) calling the real function. Other threads pass straight through.
    """

    def __init__(self, thread_name: str) -> None:
        self.thread_name = thread_name
        self.parked = threading.Event()
        self.go = threading.Event()
        self._used = False

    def install(self, monkeypatch, owner, attribute: str, *, after: bool = False) -> None:
        real = getattr(owner, attribute)
        gate = self

        def wrapper(*args, **kwargs):
            mine = threading.current_thread().name == gate.thread_name and not gate._used
            if mine and not after:
                gate._park()
            result = real(*args, **kwargs)
            if mine and after:
                gate._park()
            return result

        monkeypatch.setattr(owner, attribute, wrapper)

    def _park(self) -> None:
        self._used = True
        self.parked.set()
        if not self.go.wait(WAIT_SECONDS):
            raise AssertionError(f"{self.thread_name} was never released")

    def wait_parked(self) -> None:
        if not self.parked.wait(WAIT_SECONDS):
            raise AssertionError(f"{self.thread_name} never reached its gate")

    def release(self) -> None:
        self.go.set()
