"""Tries at a one-time code, counted in the shared cache (issue 15 §2).

allauth counts wrong codes in the session: each request reads the count, adds one and writes
the session back, so wrong codes posted at the same moment (N gunicorn workers, or one
worker's threads) all read the same count and all get "try again"; the last write wins. Four
at once got past the three-try limit, and the right code still signed in afterwards.

Here every try at a pending code reserves one of its tries in the cache *before* the code is
compared, with an atomic increment (Redis INCR, shared by every process): of N tries sent at
once, only max_attempts are compared at all, and once they are used up the pending sign-in
(or address verification) is ended, as allauth ends it after its own last wrong try. A right
code is a try too (a right code ends the process, so every earlier try was wrong): a person
who gets it right on the last try still gets in, and no try beyond allauth's limit is ever
compared.

On the embedded default the cache is Django's file-based one, whose add() and incr() read a
file and write it back: not atomic, so there the reservation holds an exclusive lock on a file
beside the cache for its two steps (one machine: every process and thread of it sees the lock).

The key is the pending process: this session and the moment allauth started it (a resent
code keeps it, as allauth keeps its count; a new sign-in starts a new one).

Uses allauth's process classes (allauth.account.internal, pinned in requirements.txt): the
tests in accounts/tests/test_concurrency.py and test_login.py fail if they change shape.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.code_verification import AbstractCodeVerificationProcess
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache, caches
from django.core.cache.backends.filebased import FileBasedCache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

# Longer than any code lives (allauth's timeouts are minutes): a stale key only ever refuses
# tries at a process that has ended anyway.
KEY_TIMEOUT = 60 * 60


def _key(request: HttpRequest, purpose: str, process: AbstractCodeVerificationProcess) -> str:
    pending = f"{purpose}|{request.session.session_key}|{process.state.get('at')}|{process.state.get('user_id')}"
    return "code-tries:" + hashlib.sha256(pending.encode()).hexdigest()


@contextmanager
def _counting_alone() -> Iterator[None]:
    """While the tries of a code are counted: alone on this machine when the cache has no
    atomic increment (the file-based cache of the embedded default; Redis's INCR needs nothing)."""
    if not isinstance(caches["default"], FileBasedCache):
        yield
        return
    lock_path = Path(settings.CACHES["default"]["LOCATION"]) / "code-tries.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _is_try(request: HttpRequest, process: AbstractCodeVerificationProcess) -> bool:
    """Whether this request compares a code. Mirrors the allauth views' choice of action:
    "resend" and "change" only when the process allows them, else the code is checked."""
    action = request.POST.get("action")
    if action == "resend" and process.can_resend:
        return False
    if action == "change" and process.can_change:
        return False
    return True


def code_try_refused(
    request: HttpRequest, *, purpose: str, process: AbstractCodeVerificationProcess | None
) -> HttpResponse | None:
    """Call before allauth's code view handles a POST. Reserves a try; when none is left,
    ends the pending process and answers as allauth does after the last wrong code."""
    if request.method != "POST" or process is None or not _is_try(request, process):
        return None
    key = _key(request, purpose, process)
    with _counting_alone():
        cache.add(key, 0, KEY_TIMEOUT)
        try:
            tries = cache.incr(key)
        except ValueError:  # evicted between add() and incr(): count this try as the first
            cache.add(key, 1, KEY_TIMEOUT)
            tries = 1
    if tries <= process.max_attempts:
        # allauth's own count, which decides "try again" or "too many" after a wrong code,
        # is this session's copy: raise it to what the cache says, so the last allowed try
        # ends the process when it is wrong, whatever the parallel requests wrote.
        failed = max(process.state.get("failed_attempts", 0), tries - 1)
        if failed != process.state.get("failed_attempts"):
            process.state["failed_attempts"] = failed
            process.persist()
        return None
    process.abort()
    adapter = get_adapter(request)
    adapter.add_message(request, messages.ERROR, message=adapter.error_messages["too_many_login_attempts"])
    return HttpResponseRedirect(reverse("account_login"))
