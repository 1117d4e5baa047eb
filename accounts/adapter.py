from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.account.utils import filter_users_by_email
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

    def pre_login(self, request: HttpRequest, user, **kwargs):
        # Users made outside allauth (createsuperuser, the admin, fixtures) have no
        # EmailAddress row. Give them one, unverified, so the sign-in code mailed to that
        # address also verifies it instead of a second, separate verification code.
        EmailAddress.objects.get_or_create(
            user=user, email__iexact=user.email, defaults={"email": user.email, "primary": True}
        )
        return super().pre_login(request, user, **kwargs)

    def send_confirmation_mail(self, request: HttpRequest, emailconfirmation, signup: bool) -> None:
        # A signed-in user can type any address on the email page. When it belongs to another
        # account, allauth answers as for a free address (no enumeration) and refuses it at the
        # last step, but it still mailed that address a real verification code: mail to a
        # stranger, started by someone else. The page still says a code was sent.
        address = emailconfirmation.email_address
        if _belongs_to_another_account(address.email, address.user):
            return
        super().send_confirmation_mail(request, emailconfirmation, signup)


def _belongs_to_another_account(email: str, user) -> bool:
    return any(other.pk != getattr(user, "pk", None) for other in filter_users_by_email(email))
