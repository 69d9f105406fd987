"""Daily digests: assemble the day's quick reads, render them, send them once per subscriber."""
