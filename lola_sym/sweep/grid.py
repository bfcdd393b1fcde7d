r"""The grid of a sweep: its axes, its cells, the chunks it is cut into, and the seeds.

A sweep's axes come in two kinds. *Setting* axes (game, rules, learning rate,
hyper-parameters) change the compiled update field or a scalar of
:func:`lola_sym.train`, so every value needs its own training call. *Row* axes
(values of a game family's symbols, initial points, seeds) only change rows of
one batched call. A chunk is one point of the setting axes times a rectangular
block of the row axes: one vectorised call of :func:`~lola_sym.train`, one task
for a worker, one region of the stored dataset.

Seeds (Sec. "Seeding" of the NumPy documentation): the initial parameters of
seed index :math:`s` are drawn from
``numpy.random.default_rng(SeedSequence(entropy).spawn(n)[s])``, built directly
as ``SeedSequence(entropy, spawn_key=(s,))`` (:func:`seed_sequence`). They
depend on the seed index only, never on the chunking, the worker or the other
axes: every rule, rate and game at seed :math:`s` starts from the same draw
(common random numbers, as in :func:`lola_sym.dynamics.compare.compare`).

References
----------
.. [1] NumPy. Parallel random number generation (``SeedSequence.spawn``).
   https://numpy.org/doc/stable/reference/random/parallel.html
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Axis", "Grid", "Chunk", "seed_sequence", "seed_generator", "block_shape",
           "DEFAULT_CHUNK_ROWS", "MAX_CHUNK_BYTES"]

#: Rows (runs) per chunk by default: enough that a training step's Python overhead
#: (tens of microseconds) is small against the batched field call, few enough that a
#: grid of a few settings still gives every worker several tasks.
DEFAULT_CHUNK_ROWS = 1024

#: Largest trajectory a chunk may hold in memory (all steps of all rows), in bytes; the
#: default chunk is shrunk to fit.
MAX_CHUNK_BYTES = 256 * 10 ** 6


def seed_sequence(entropy: int, index: int) -> np.random.SeedSequence:
    """The seed sequence of seed index ``index``: ``SeedSequence(entropy).spawn(n)[index]``.

    Examples
    --------
    >>> a = seed_sequence(7, 3)
    >>> b = np.random.SeedSequence(7).spawn(5)[3]
    >>> a.spawn_key, bool(np.all(a.generate_state(4) == b.generate_state(4)))
    ((3,), True)
    """
    return np.random.SeedSequence(int(entropy), spawn_key=(int(index),))


def seed_generator(entropy: int, index: int) -> np.random.Generator:
    """The generator that draws the initial parameters of seed index ``index``.

    Examples
    --------
    >>> seed_generator(0, 1).normal() == seed_generator(0, 1).normal()
    True
    >>> seed_generator(0, 1).normal() == seed_generator(0, 2).normal()
    False
    """
    return np.random.default_rng(seed_sequence(entropy, index))


@dataclass(frozen=True)
class Axis:
    """One axis of a sweep: a name, its values, their labels, and whether it is a dimension.

    A setting given as a single value is an axis of length one that is not a
    dimension of the dataset (a scalar coordinate instead).
    """

    name: str
    values: tuple
    labels: tuple
    dim: bool
    row: bool           # batched as rows of one training call (else: one call per value)

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Chunk:
    """One task: a point of the setting axes and a block of the row axes.

    ``setting`` holds one index per setting axis; ``rows`` one slice per row axis.
    """

    index: int
    setting: tuple
    rows: tuple

    @property
    def n_rows(self) -> int:
        return math.prod(s.stop - s.start for s in self.rows)


def block_shape(sizes: tuple, target: int) -> tuple:
    """Block of the row axes (sizes ``sizes``, outer to inner) holding at most ``target`` rows.

    Inner axes are taken whole while they fit, the next one is cut into blocks,
    the outer ones are taken one value at a time; a block is never empty.

    Examples
    --------
    >>> block_shape((20, 1000), 500), block_shape((20, 1000), 4000), block_shape((3, 4), 100)
    ((1, 500), (4, 1000), (3, 4))
    """
    out, room = [1] * len(sizes), max(int(target), 1)
    for k in range(len(sizes) - 1, -1, -1):
        take = min(sizes[k], room)
        out[k] = max(take, 1)
        if take < sizes[k]:
            break
        room //= sizes[k]
    return tuple(out)


class Grid:
    """The axes of a sweep, in dataset order, and their chunks.

    Parameters
    ----------
    axes : sequence of Axis
        Setting axes first, then row axes (the seeds innermost).
    chunk_rows : int
        Rows per chunk (a block of the row axes; see :func:`block_shape`).

    Examples
    --------
    >>> g = Grid([Axis("eta", (0.5, 1.0), ("0.5", "1.0"), True, False),
    ...           Axis("seed", (0, 1, 2), ("0", "1", "2"), True, True)], chunk_rows=2)
    >>> g.shape, g.n_cells, [(c.setting, c.rows) for c in g.chunks()][:2]
    ((2, 3), 6, [((0,), (slice(0, 2, None),)), ((0,), (slice(2, 3, None),))])
    """

    def __init__(self, axes, chunk_rows: int):
        self.axes = tuple(axes)
        seen = [a.row for a in self.axes]
        if seen != sorted(seen):
            raise ValueError("setting axes must come before row axes")
        self.chunk_rows = int(chunk_rows)
        if self.chunk_rows < 1:
            raise ValueError(f"chunk_rows must be a positive int, got {chunk_rows}")
        self.setting_axes = tuple(a for a in self.axes if not a.row)
        self.row_axes = tuple(a for a in self.axes if a.row)
        self.block = block_shape(tuple(len(a) for a in self.row_axes), self.chunk_rows)

    @property
    def dims(self) -> tuple:
        """Names of the axes that are dimensions of the dataset, in order."""
        return tuple(a.name for a in self.axes if a.dim)

    @property
    def shape(self) -> tuple:
        """Lengths of the dimension axes."""
        return tuple(len(a) for a in self.axes if a.dim)

    @property
    def n_cells(self) -> int:
        """Number of runs (cells) in the sweep."""
        return math.prod(len(a) for a in self.axes)

    @property
    def n_rows(self) -> int:
        """Runs per setting (product of the row axes)."""
        return math.prod(len(a) for a in self.row_axes)

    @property
    def n_settings(self) -> int:
        """Number of training calls' settings (product of the setting axes)."""
        return math.prod(len(a) for a in self.setting_axes)

    def axis(self, name: str) -> Axis:
        for a in self.axes:
            if a.name == name:
                return a
        raise KeyError(name)

    def chunks(self) -> list:
        """Every chunk, settings outer, row blocks inner, numbered in that order."""
        out: list[Chunk] = []
        row_starts = [range(0, len(a), b) for a, b in zip(self.row_axes, self.block)]
        for setting in np.ndindex(*(len(a) for a in self.setting_axes)):
            for starts in np.ndindex(*(len(r) for r in row_starts)):
                rows = tuple(slice(r[k], min(r[k] + b, len(a)))
                             for k, r, b, a in zip(starts, row_starts, self.block, self.row_axes))
                out.append(Chunk(len(out), tuple(int(i) for i in setting), rows))
        return out

    @property
    def n_chunks(self) -> int:
        return self.n_settings * math.prod(math.ceil(len(a) / b)
                                           for a, b in zip(self.row_axes, self.block))

    def region(self, chunk: Chunk) -> tuple:
        """The chunk's index into the dataset's dimension axes (ints and slices)."""
        out = []
        for a, i in zip(self.setting_axes, chunk.setting):
            if a.dim:
                out.append(slice(i, i + 1))
        for a, s in zip(self.row_axes, chunk.rows):
            if a.dim:
                out.append(s)
        return tuple(out)

    def zarr_chunks(self) -> tuple:
        """Storage chunk lengths of the dimension axes: one setting, one row block."""
        out = []
        for a in self.setting_axes:
            if a.dim:
                out.append(1)
        for a, b in zip(self.row_axes, self.block):
            if a.dim:
                out.append(b)
        return tuple(out)

    def rows_of(self, chunk: Chunk) -> dict:
        """Each row axis's value index for every row of the chunk (C order), by axis name."""
        ranges = [np.arange(s.start, s.stop) for s in chunk.rows]
        mesh = np.meshgrid(*ranges, indexing="ij") if ranges else []
        return {a.name: m.ravel() for a, m in zip(self.row_axes, mesh)}

    def block_of(self, chunk: Chunk) -> tuple:
        """Shape of the chunk's block over the dimension row axes."""
        return tuple(s.stop - s.start for a, s in zip(self.row_axes, chunk.rows) if a.dim)
