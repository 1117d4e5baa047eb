from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"

    def ready(self) -> None:
        from allauth.account.signals import email_confirmed

        from sharing.services import shares_link_pending

        # An invitation to an address with no account (yet) reaches its viewer once someone
        # proves they own the address: at sign-up, email change or an admin's verification.
        def link(sender, request, email_address, **kwargs) -> None:
            shares_link_pending(user=email_address.user, email=email_address.email)

        email_confirmed.connect(link, dispatch_uid="sharing.link_pending", weak=False)
