"""WSGI entry point: `app` for any WSGI server, with logging configured."""

import os
import sys

from service import SettingsError, create_app
from service.logs import configure_logging, requested_format
from service.runtime import EXTENSION

configure_logging(log_format=requested_format(os.environ))
try:
    app = create_app()
except SettingsError as error:
    # One line per bad setting, not a traceback, whichever server imports this, and the
    # exit status of every command for a bad setting (flask --app wsgi …), 2.
    print(error, file=sys.stderr)
    sys.exit(2)
# The format the settings ask for, now that they have been read.
configure_logging(log_format=app.extensions[EXTENSION].settings.log_format)
