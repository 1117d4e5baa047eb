import io

import qrcode
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User


class Command(BaseCommand):
    help = "Create a TOTP device for a staff user and print its otpauth:// URL (and a QR code)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="authenticator", help="a label for the device")
        parser.add_argument("--no-qr", action="store_true", help="print only the URL")

    def handle(self, *args, email: str, name: str, no_qr: bool, **options) -> None:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"no user with email {email}")
        if not user.is_staff:
            raise CommandError(f"{user.email} is not staff; the admin is for staff only")
        if TOTPDevice.objects.filter(user=user, name=name).exists():
            raise CommandError(f"{user.email} already has a TOTP device named {name!r}; pick another --name")
        # Confirmed at once: whoever runs manage.py already controls the server.
        device = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
        self.stdout.write(f"TOTP device {name!r} created for {user.email}.")
        self.stdout.write("Add it to an authenticator app with this URL (keep it secret):")
        self.stdout.write(device.config_url)
        if not no_qr:
            code = qrcode.QRCode(border=1)
            code.add_data(device.config_url)
            buffer = io.StringIO()
            code.print_ascii(out=buffer, invert=True)
            self.stdout.write(buffer.getvalue())
