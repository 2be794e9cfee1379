from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = (
        "Print a demo user's current 6-digit TOTP code, for trying the pages without an "
        "authenticator app. Refuses to run unless DEBUG is on (the demo)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError("demo_code prints second-factor codes: it runs only with DEBUG on.")
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(f"{username} has no authenticator (run `make demo` first).")
        self.stdout.write(f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}")
