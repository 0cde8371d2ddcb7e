"""``python -m rmt``: the command line (the same as the ``rmt`` console script)."""

from rmt.figures.cli import console_main

if __name__ == "__main__":
    raise SystemExit(console_main())
