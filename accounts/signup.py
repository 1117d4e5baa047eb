"""allauth's sign-up form, made to answer the same for an address that has an account.

ACCOUNT_PREVENT_ENUMERATION already makes the page and the redirect the same: the owner of a
taken address gets an "account already exists" mail instead of a code. Two differences were
left, both telling a stranger that the address has an account (issue 15 §1 and §5):

- time: a new address costs a password hash (Argon2id, about 90 ms) and the inserts; a taken
  one cost neither, so it came back several times faster;
- a race: two sign-ups of the same new address at once both passed allauth's "is it taken?"
  check, and the second insert hit the unique email column: a 500.

Not in accounts/forms.py: allauth's form class inherits from the class named there
(ACCOUNT_SIGNUP_FORM_CLASS), so that module cannot import allauth's forms.
"""

from __future__ import annotations

from allauth.account.forms import SignupForm
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from accounts.models import User


class SameAnswerSignupForm(SignupForm):
    def try_save(self, request: HttpRequest):
        if self.account_already_exists:
            # The work a new account does first (User.set_password), thrown away, so both
            # answers take as long. Same hasher and costs, same password: same time.
            make_password(self.cleaned_data.get("password1"))
            return super().try_save(request)
        try:
            # A savepoint, so a duplicate leaves no half-made account (user row without its
            # address) even inside an outer transaction.
            with transaction.atomic():
                return super().try_save(request)
        except IntegrityError:
            email = self.cleaned_data.get("email") or ""
            if not User.objects.filter(email__iexact=email).exists():
                raise
        # Someone signed up with this address between allauth's "is it taken?" check and our
        # insert: most likely the same person clicking twice. Answer with the page a taken
        # address gets, but send no "account already exists" mail and leave the session alone:
        # the request that won is mailing this address its code, and a second mail would use
        # up allauth's one-mail-per-10-s limit on the address (the winner's code then never
        # went out: a 429), and a second verification in a shared session would replace the
        # winner's, so the code in that mail would not work. Nothing about other accounts is
        # told: only an address signed up in this very moment gets here.
        return None, HttpResponseRedirect(reverse("account_email_verification_sent"))
