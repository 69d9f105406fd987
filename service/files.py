"""Files the commands write: whole or not at all."""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

_OWN_DESCRIPTOR = re.compile(r"/(?:proc/self|dev)/fd/([0-9]{1,9})")


def write_whole(output: Path, data: bytes) -> None:
    """Write `data` to `output` whole or not at all: a regular file (or a new one) is written
    beside itself, then renamed over it, so a full disk or a quota never leaves a good file
    cut short (it was truncated first, then written); it keeps its mode, and a symbolic link
    to it stays a link. One of this process's descriptors (/dev/stdout, /dev/fd/N) is
    written through, where a shell's `>> log` put it; anything else that is not a regular
    file (a pipe, a device) is written into as it is: a rename would put a file in its
    place. Raises OSError."""
    descriptor = _descriptor_of(output)
    if descriptor is not None:
        with os.fdopen(os.dup(descriptor), "wb") as handle:
            handle.write(data)
        return
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
    created = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(created, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(part, stat.S_IMODE(mode))
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _descriptor_of(path: Path) -> int | None:
    """The descriptor of this process that `path` names through its links (/dev/stdout is
    /proc/self/fd/1), or None. Reopening it by name would start at the file's beginning, and
    renaming over it would leave the shell's descriptor on the old file: lines lost."""
    current = os.path.abspath(path)
    for _ in range(40):  # as many links as the kernel follows
        if found := _OWN_DESCRIPTOR.fullmatch(current):
            return int(found[1])
        if not os.path.islink(current):
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return None
