"""Pure reward functions (verifiers, format, redundancy) and the thin adapter veRL calls."""
