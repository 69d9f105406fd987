"""Files the commands write: whole or not at all."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def write_whole(output: Path, data: bytes) -> None:
    """Write `data` to `output` whole or not at all: into a new file beside it, then renamed
    over it, so a full disk or a quota never leaves a good file cut short (it was truncated
    first, then written). The file keeps the mode of the one it replaces. Raises OSError."""
    part = output.with_name(f".{output.name}.{secrets.token_hex(4)}.part")
    descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "wb") as handle:
            handle.write(data)
        if output.is_file():
            os.chmod(part, stat.S_IMODE(os.stat(output).st_mode))
        os.replace(part, output)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
