"""``rmt models [--json]``: the model table (:mod:`rmt.figures.models`): each model, its problem, theory and
simulation entry points, quantities, coordinate columns and validation cases."""

from __future__ import annotations

import argparse
import json

from rmt.figures.models import MODELS, table


def register(groups) -> None:
    p = groups["root"].add_parser(
        "models", help="list the models: theory, simulation, quantities, validation",
        description="The model table: every model with its problem description, theory and simulation entry "
        "points, the quantities both report, the coordinate columns their records share (the columns to merge "
        "theory and simulation tables on) and the rmt validate group of its validation cases.")
    p.add_argument("--json", action="store_true", help="print the table as one JSON list")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(table(), indent=1))
        return 0
    for spec in MODELS:
        yes = lambda flag: "yes" if flag else "no"  # noqa: E731
        print(f"{spec.name}: {spec.description}")
        print(f"  problem      {spec.problem}")
        print(f"  theory       {spec.theory}")
        print(f"  simulation   {spec.simulation or 'none'}" + (f" (sweep model {spec.sweep!r})" if spec.sweep else ""))
        print(f"  validation   {yes(spec.validation)}" + (f" (rmt validate --model {spec.validation_group})"
                                                          if spec.validation_group else ""))
        print(f"  quantities   {', '.join(spec.quantities)}")
        print(f"  coordinates  {', '.join(spec.coordinates)}")
        for opt in spec.options:
            print(f"  option       {opt}")
    return 0
