"""One comparison of a theory value with a simulated one, shared by the linear-scaling NTK simulation tests."""

from __future__ import annotations


def check_against_simulation(sim: float, se: float, theory: float, allowance: float, what: str) -> None:
    """``|sim - theory| <= 4 se + allowance`` (``allowance`` absolute: the stated finite-size allowance)."""
    dev = sim - theory
    assert abs(dev) <= 4 * se + allowance, (f"{what}: simulation {sim:.5f} +- {se:.5f}, theory {theory:.5f}, "
                                            f"deviation {dev:+.5f}")
