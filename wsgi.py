"""WSGI entry point: `app` for any WSGI server, with logging configured."""

import sys

from service import SettingsError, create_app
from service.logs import configure_logging

configure_logging()
try:
    app = create_app()
except SettingsError as error:
    # One line per bad setting, not a traceback, whichever server imports this.
    sys.exit(str(error))
