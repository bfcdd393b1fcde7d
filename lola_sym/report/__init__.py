"""Reports: derivation pages, figures, and the reproductions of published tables."""
