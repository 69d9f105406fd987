"""`python -m service …` is the `broadsheet` command."""

from .cli import main

main()
