"""The shell commands of docs/deploy.md, so the tests run exactly what the document says."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
# The virtualenv running the tests stands for the checkout's `.venv`.
VENV_BIN = Path(sys.executable).parent
_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
_ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=")


def doc_commands(path: Path = DEPLOY_DOC) -> list[str]:
    """Every command in the document's ```sh blocks, one per line (continuations joined)."""
    commands: list[str] = []
    language: str | None = None
    pending = ""
    for line in path.read_text("utf-8").splitlines():
        fence = _FENCE.match(line)
        if fence:
            language = None if language is not None else fence[2]
            continue
        if language not in ("sh", "bash", "shell"):
            continue
        text = pending + line.strip()
        if text.endswith("\\"):
            pending = text[:-1] + " "
            continue
        pending = ""
        if text and not text.startswith("#"):
            commands.append(text)
    return commands


def doc_command(prefix: str) -> str:
    """The document's command `prefix`, or the one command that starts with it."""
    commands = doc_commands()
    found = [c for c in commands if c == prefix] or [c for c in commands if c.startswith(prefix)]
    assert len(found) == 1, f"docs/deploy.md has {len(found)} commands starting {prefix!r}"
    return found[0]


def runnable(command: str) -> tuple[dict[str, str], list[str]]:
    """The variables a command sets and its argv, `.venv/bin/` being this interpreter's."""
    words = shlex.split(command, comments=True)
    variables: dict[str, str] = {}
    while words and _ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        variables[name] = value
    if words and words[0].startswith(".venv/bin/"):
        words[0] = str(VENV_BIN / words[0].removeprefix(".venv/bin/"))
    return variables, words
