"""Application layer: one script per figure, the ``rmt`` command line and validation reports.

Composes ``theory`` (exact limits) and ``montecarlo`` (simulation) from one :class:`rmt.Problem`.
"""
