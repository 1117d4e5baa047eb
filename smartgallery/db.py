"""Database helpers shared by the apps' services."""

import functools
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connection, transaction

# MariaDB/MySQL error codes for "this transaction lost a lock conflict": a deadlock victim, or a
# lock wait that timed out. The transaction was rolled back as a whole, so running it again is safe.
LOCK_CONFLICT_CODES = {1213, 1205}

T = TypeVar("T")


def is_lock_conflict(error: OperationalError) -> bool:
    return bool(error.args) and error.args[0] in LOCK_CONFLICT_CODES


def run_with_retry(work: Callable[[], T], *, attempts: int = 3) -> T:
    """work(), run again when the database picks its transaction as a deadlock victim (work
    opens the transaction itself, so each attempt starts afresh). Only outside any transaction:
    inside another atomic block the error goes up to whoever owns the whole transaction."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except OperationalError as error:
            if connection.in_atomic_block or not is_lock_conflict(error) or attempt == attempts:
                raise
            time.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311 - jitter, not security
    raise AssertionError("unreachable")


def atomic_with_retry(func: Callable | None = None, *, attempts: int = 3) -> Callable:
    """`transaction.atomic`, run again when the database picks it as a deadlock victim.

    Label corrections and background recognition lock the same faces and persons in different
    orders; on MariaDB either side can be chosen as the victim. The user's click must not become
    a 500 for that (`run_with_retry`).
    """

    def decorate(inner: Callable) -> Callable:
        atomic_inner = transaction.atomic(inner)

        @functools.wraps(inner)
        def wrapper(*args, **kwargs):
            return run_with_retry(functools.partial(atomic_inner, *args, **kwargs), attempts=attempts)

        return wrapper

    return decorate(func) if func is not None else decorate
