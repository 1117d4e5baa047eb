"""atomic_with_retry: a deadlock victim's transaction runs again; nothing else is retried."""

import pytest
from django.db import OperationalError, transaction

from smartgallery.db import atomic_with_retry


def flaky(failures: list[OperationalError]):
    calls = []

    @atomic_with_retry
    def work():
        calls.append(transaction.get_connection().in_atomic_block)
        if failures:
            raise failures.pop(0)
        return "done"

    return work, calls


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_victim_runs_again_in_a_fresh_transaction():
    work, calls = flaky([OperationalError(1213, "Deadlock found when trying to get lock")])
    assert work() == "done"
    assert calls == [True, True]


@pytest.mark.django_db(transaction=True)
def test_a_lock_wait_timeout_runs_again():
    work, calls = flaky([OperationalError(1205, "Lock wait timeout exceeded")])
    assert work() == "done"
    assert len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_after_three_attempts():
    work, calls = flaky([OperationalError(1213, "deadlock") for _ in range(5)])
    with pytest.raises(OperationalError):
        work()
    assert len(calls) == 3


@pytest.mark.django_db(transaction=True)
def test_other_database_errors_are_not_retried():
    work, calls = flaky([OperationalError(2006, "MySQL server has gone away")])
    with pytest.raises(OperationalError):
        work()
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_inside_an_outer_transaction_the_error_goes_to_its_owner():
    work, calls = flaky([OperationalError(1213, "deadlock")])
    with pytest.raises(OperationalError), transaction.atomic():
        work()
    assert len(calls) == 1
