from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.SMARTGALLERY_ALLOW_SIGNUP

    def is_login_by_code_required(self, login) -> bool:
        # Right after sign-up the address has just been proven with a code; asking for a
        # second one in the same minute adds nothing.
        if login.signup:
            return False
        return super().is_login_by_code_required(login)
