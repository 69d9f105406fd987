"""Files the commands write: whole or not at all."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def write_whole(output: Path, data: bytes) -> None:
    """Write `data` to `output` whole or not at all: a regular file (or a new one) is written
    beside itself, then renamed over it, so a full disk or a quota never leaves a good file
    cut short (it was truncated first, then written); it keeps its mode, and a symbolic link
    to it stays a link. Anything else (a pipe, /dev/stdout, a terminal) is written into as
    it is: a rename would put a file in its place. Raises OSError."""
    try:
        mode = os.stat(output).st_mode  # through a link, to what it names
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(output, "wb") as handle:
            handle.write(data)
        return
    target = Path(os.path.realpath(output))  # a link's file, not the link
    part = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(part, stat.S_IMODE(mode))
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
