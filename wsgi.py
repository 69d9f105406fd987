"""WSGI entry point: `app` for any WSGI server, with logging configured."""

import logging

from service import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
# WeasyPrint reports every layout step at INFO; only its warnings are news.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

app = create_app()
