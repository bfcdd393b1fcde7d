"""Figures drawn headless and saved: the helpers :mod:`lola_sym.report.plots` and
:mod:`lola_sym.report.plots_dynamics` share.

A :class:`matplotlib.figure.Figure` on the Agg canvas (no ``pyplot``, no
display), shown inline in Jupyter through ``_repr_png_``, and saved as PNG or
PDF by the suffix of its path. Imports neither figure module.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["_figure", "_png_bytes", "_save"]


def _figure(figsize):
    """A constrained-layout figure of size ``figsize`` (inches) on the Agg canvas.

    Examples
    --------
    >>> fig = _figure((4, 3))
    >>> [float(v) for v in fig.get_size_inches()], type(fig.canvas).__name__
    ([4.0, 3.0], 'FigureCanvasAgg')
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    fig._repr_png_ = lambda: _png_bytes(fig)    # shown inline in Jupyter without pyplot
    return fig


def _png_bytes(fig) -> bytes:
    """``fig`` as PNG bytes (100 dpi).

    Examples
    --------
    >>> data = _png_bytes(_figure((2, 1)))
    >>> data[:8] == b"\\x89PNG\\r\\n\\x1a\\n", int.from_bytes(data[16:20], "big")   # 2 in at 100 dpi
    (True, 200)
    """
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _save(fig, path):
    """Save ``fig`` to ``path`` (``.png`` or ``.pdf``), creating missing parent folders.

    Examples
    --------
    >>> fig = _figure((2, 1))
    >>> _save(fig, None) is fig
    True
    >>> _save(fig, "figure.svg")
    Traceback (most recent call last):
    ...
    ValueError: path must end in .png or .pdf, got 'figure.svg'
    """
    if path is None:
        return fig
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "pdf"):
        raise ValueError(f"path must end in .png or .pdf, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=fmt, dpi=150 if fmt == "png" else None)
    return fig
