"""Who else holds data about a user, so deleting an account leaves nothing behind.

Apps that store per-user data register a cleanup from their AppConfig.ready():

    from accounts.deletion import register_user_data_cleanup
    register_user_data_cleanup(photos_delete_for_user)

`accounts.services.user_delete` calls each one as `cleanup(user=user)` (keyword, like every
service), inside its transaction and before the user row goes. A cleanup deletes its rows and
schedules file removal with `transaction.on_commit`, so a failed deletion never leaves rows
pointing at removed files.
The registry is explicit (not signals) so the list of what a deletion touches is greppable.
"""

from collections.abc import Callable
from typing import Any

UserDataCleanup = Callable[[Any], None]

_cleanups: list[UserDataCleanup] = []


def register_user_data_cleanup(cleanup: UserDataCleanup) -> UserDataCleanup:
    """Register `cleanup(*, user)`; registering the same function twice is a no-op. Returns it,
    so it also works as a decorator."""
    if cleanup not in _cleanups:
        _cleanups.append(cleanup)
    return cleanup


def unregister_user_data_cleanup(cleanup: UserDataCleanup) -> None:
    if cleanup in _cleanups:
        _cleanups.remove(cleanup)


def user_data_cleanups() -> tuple[UserDataCleanup, ...]:
    return tuple(_cleanups)
