"""``rmt figure hea-learning-curves`` and ``rmt figure transfer-selection`` (registered here so that the shared
figure table stays unchanged; drawn by :func:`rmt.figures.commands.figure.run`)."""

from __future__ import annotations

from functools import partial

FIGURES = {
    "hea-learning-curves": ("rmt.figures.hea_learning_curves", "Hermite eigenstructure ansatz vs kernel ridge "
                            "regression: learning curves, the order monomials are learned, and where it holds"),
    "transfer-selection": ("rmt.figures.transfer_selection", "feature transfer: optimal featurisation profiles and "
                           "the hard/soft selection transition"),
}


def register(groups) -> None:
    from rmt.figures.commands.figure import run

    for name, (module, help_) in FIGURES.items():
        p = groups["figure"].add_parser(name, help=help_, description=f"{help_[0].upper()}{help_[1:]}. Writes a PNG "
                                        "and the numbers behind it into --out and prints their paths.")
        p.add_argument("--out", default="out", metavar="DIR", help="output directory (default out/)")
        p.add_argument("--no-mc", action="store_true", help="theory only, no simulation points")
        p.add_argument("--quick", action="store_true", help="coarser grids and fewer repetitions")
        p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the simulation (default 0)")
        p.set_defaults(func=partial(run, module))
