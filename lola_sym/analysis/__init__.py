"""Analysis of learning maps: Jacobians, fixed points, stability, thresholds,
phase portraits and consistency.

Each module reads fields through :mod:`lola_sym.field`; none of them derives a
rule of its own.
"""
