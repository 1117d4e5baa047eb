import logging
from importlib import import_module

from allauth.usersessions.models import UserSession
from django.conf import settings

from accounts.deletion import user_data_cleanups
from accounts.models import User
from smartgallery.db import atomic_with_retry

logger = logging.getLogger(__name__)


@atomic_with_retry
def user_delete(*, user: User) -> None:
    """Delete an account and everything it owns, and end all of its sessions.

    Registered cleanups (photos, faces, people, indexes) run first, in this transaction; their
    file removal runs after commit. If any step fails, nothing is deleted.

    The user's row is locked first. Every row that belongs to the user points at it, so a row
    added meanwhile (an upload, faces the worker stores, a new person) waits for the deletion
    and then fails, instead of landing after the deletion listed the user's rows and breaking
    it (a 500, the account left half there). The worker, which locks a photo before storing
    its faces, can deadlock with this: whichever the database picks runs again.
    """
    User.objects.select_for_update().only("pk").get(pk=user.pk)
    user_id = user.pk
    for cleanup in user_data_cleanups():
        cleanup(user=user)
    session_keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    for key in session_keys:
        store.delete(key)
    user.delete()
    logger.info("deleted user %s, ended %d sessions", user_id, len(session_keys))
