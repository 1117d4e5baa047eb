import logging
from importlib import import_module

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.db import transaction

from accounts.deletion import user_data_cleanups
from accounts.models import User

logger = logging.getLogger(__name__)


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete an account and everything it owns, and end all of its sessions.

    Registered cleanups (photos, faces, people, indexes) run first, in this transaction; their
    file removal runs after commit. If any step fails, nothing is deleted.
    """
    user_id = user.pk
    for cleanup in user_data_cleanups():
        cleanup(user=user)
    session_keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    for key in session_keys:
        store.delete(key)
    user.delete()
    logger.info("deleted user %s, ended %d sessions", user_id, len(session_keys))
