"""Logging for the entry points (wsgi.py and the CLI); library code only gets loggers."""

from __future__ import annotations

import logging


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # WeasyPrint reports every layout step at INFO; only its warnings are news.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    # pikepdf announces its logger bridge at INFO on import: not progress of ours.
    logging.getLogger("pikepdf").setLevel(logging.WARNING)
