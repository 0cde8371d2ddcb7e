"""Sub-command modules of the ``rmt`` command line.

Every module here that defines ``register(groups)`` is loaded by :mod:`figures.cli` (in name order). ``groups`` maps
the top-level command names (``theory``, ``simulate``, ``spectrum``, ``figure``) to argparse sub-parser collections,
plus ``"root"`` for new top-level commands. A registered parser sets ``func=callable(args) -> int`` with
``set_defaults``. Adding a model's commands is adding one module; no shared file changes.
"""
