"""WSGI entry point: `app` for any WSGI server, with logging configured."""

from service import create_app
from service.logs import configure_logging

configure_logging()
app = create_app()
