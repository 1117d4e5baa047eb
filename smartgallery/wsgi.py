import os

from django.core.wsgi import get_wsgi_application

from smartgallery.embedded import create_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgallery.settings")
create_secret_key()  # the embedded default's key, before the settings read it (see manage.py)

application = get_wsgi_application()
