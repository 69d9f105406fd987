"""WSGI entry point: `app` for any WSGI server, with logging configured."""

import logging

from service import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = create_app()
