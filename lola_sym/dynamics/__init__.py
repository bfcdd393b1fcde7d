"""Learning dynamics: training runs, side-by-side comparisons of rules, and tournaments."""
