r"""A sweep's results on disk, in zarr, resumable after a kill.

The store is a zarr group (format 2, readable by every zarr and xarray
version) holding the dataset of :func:`lola_sym.sweep.dataset.template`, with
storage chunks aligned on the sweep's chunks (one setting, one block of rows),
and one bookkeeping array, :data:`DONE`: a flag per sweep chunk. Only the
driver writes (workers return their results), one chunk at a time: first the
chunk's region of every variable, then its flag. zarr writes every storage
chunk to a temporary file and renames it, so a process killed at any point
leaves each flag either unset (the chunk is computed again) or set after its
data.

Reopening a store checks that it holds the same sweep (the spec's digest) and
the same chunk layout, and returns the flags: finished chunks are not redone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

__all__ = ["DONE", "create", "reopen", "Writer", "load", "done_count", "is_store",
           "stored_chunk_rows"]

#: Name of the bookkeeping array (one flag per sweep chunk); dropped by :func:`load`.
DONE = "_sweep_chunk_done"

_FORMAT = 2


def _zarr():
    import zarr
    return zarr


def is_store(path) -> bool:
    """Whether ``path`` is a sweep store (a zarr group with the :data:`DONE` array).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     is_store(d)
    False
    """
    p = Path(path)
    return (p / DONE / ".zarray").is_file() or (p / DONE / "zarr.json").is_file()


def create(path, ds, grid, n_chunks: int, *, overwrite: bool = False) -> None:
    """Write the template ``ds`` and an all-unset :data:`DONE` at ``path``.

    An existing sweep store is replaced only with ``overwrite``; any other
    existing path is refused.

    Examples
    --------
    >>> import os, tempfile
    >>> from lola_sym.sweep.dataset import template
    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("matching_pennies", "nl", seeds=3, steps=4)
    >>> grid = spec.grid(chunk_rows=2)
    >>> ds = template(spec, grid, [], "0.1.0")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "mp.zarr")
    ...     create(path, ds, grid, len(grid.chunks()))
    ...     stored = is_store(path), done_count(path), load(path, complete=False).identical(ds)
    ...     try:
    ...         create(path, ds, grid, len(grid.chunks()))
    ...     except ValueError as exc:
    ...         refused = str(exc).endswith("holds a sweep already; resume it or pass "
    ...                                     "overwrite=True")
    >>> stored, refused
    ((True, 0, True), True)
    """
    p = Path(path)
    if p.exists():
        if not is_store(p):
            raise ValueError(f"{p} exists and is not a sweep store; choose another path")
        if not overwrite:
            raise ValueError(f"{p} holds a sweep already; resume it or pass overwrite=True")
        shutil.rmtree(p)
    chunks = grid.zarr_chunks()
    encoding = {}
    for name, var in ds.data_vars.items():
        encoding[name] = {"chunks": chunks + var.shape[len(chunks):]}
    p.parent.mkdir(parents=True, exist_ok=True)
    encoding[DONE] = {"chunks": (1,)}
    full = ds.assign({DONE: (("_sweep_chunk",), np.zeros(n_chunks, dtype=np.int8))})
    full.to_zarr(p, mode="w", encoding=encoding, consolidated=False, zarr_format=_FORMAT)
    arr = _zarr().open_group(str(p), mode="r+")[DONE]
    arr.attrs.update({"layout": json.dumps(_layout(grid, n_chunks)), "ready": True})


def _layout(grid, n_chunks) -> dict:
    return {"chunk_rows": grid.chunk_rows, "block": list(grid.block), "n_chunks": n_chunks,
            "shape": list(grid.shape)}


def reopen(path, spec_digest: str, grid, n_chunks: int) -> np.ndarray:
    """The :data:`DONE` flags of the store at ``path`` (bool), after checking it matches.

    Raises
    ------
    ValueError
        When ``path`` is not a finished-to-create sweep store, holds another
        sweep (``spec_digest``) or is cut into other chunks.

    Examples
    --------
    >>> import os, tempfile
    >>> from lola_sym.sweep.dataset import template
    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("matching_pennies", "nl", seeds=3, steps=4)
    >>> grid = spec.grid(chunk_rows=2)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "mp.zarr")
    ...     create(path, template(spec, grid, [], "0.1.0"), grid, 2)
    ...     Writer(path).write_chunk(1, grid.region(grid.chunks()[1]), {})   # flag only
    ...     flags = reopen(path, spec.digest, grid, 2)
    ...     try:
    ...         reopen(path, spec.digest, spec.grid(chunk_rows=1), 3)
    ...     except ValueError as exc:
    ...         message = str(exc).split(": ")[1]
    >>> flags, message
    (array([False,  True]), 'resume with chunk_rows=2 (or leave it unset)')
    """
    p = Path(path)
    if not is_store(p):
        raise ValueError(f"{p} is not a sweep store")
    group = _zarr().open_group(str(p), mode="r")
    arr = group[DONE]
    if not arr.attrs.get("ready", False):
        raise ValueError(f"the store at {p} was not finished being created (the process "
                         f"stopped while writing it); pass overwrite=True to start again")
    digest = group.attrs.get("spec_digest")
    if digest != spec_digest:
        raise ValueError(f"the store at {p} holds another sweep (spec digest {str(digest)[:12]} "
                         f"vs {spec_digest[:12]}): choose another path, or pass "
                         f"overwrite=True to replace it")
    layout = json.loads(arr.attrs["layout"])
    want = _layout(grid, n_chunks)
    if layout != want:
        raise ValueError(f"the store at {p} is cut into chunks of {layout['chunk_rows']} rows, "
                         f"this sweep into {want['chunk_rows']}: resume with "
                         f"chunk_rows={layout['chunk_rows']} (or leave it unset)")
    return np.asarray(arr[:]).astype(bool)


def stored_chunk_rows(path) -> int | None:
    """The chunk rows a store was created with (None if ``path`` is not a ready store).

    Examples
    --------
    >>> import os, tempfile
    >>> from lola_sym.sweep.run import run
    >>> from lola_sym.sweep.spec import make_spec
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "mp.zarr")
    ...     before = stored_chunk_rows(path)
    ...     _ = run(make_spec("matching_pennies", "nl", seeds=3, steps=4), store=path,
    ...             workers=1, chunk_rows=2)
    ...     after = stored_chunk_rows(path)
    >>> before, after
    (None, 2)
    """
    if not is_store(path):
        return None
    arr = _zarr().open_group(str(path), mode="r")[DONE]
    if not arr.attrs.get("ready", False):
        return None
    return int(json.loads(arr.attrs["layout"])["chunk_rows"])


class Writer:
    """Writes chunks' blocks and flags into an open store (the driver's only writer)."""

    def __init__(self, path):
        self.group = _zarr().open_group(str(path), mode="r+")
        self._arrays = {}

    def array(self, name):
        if name not in self._arrays:
            self._arrays[name] = self.group[name]
        return self._arrays[name]

    def write_chunk(self, index: int, region: tuple, blocks: dict) -> None:
        """Every variable's block at ``region``, then the chunk's flag."""
        for name, b in blocks.items():
            arr = self.array(name)
            arr[region + (slice(None),) * (arr.ndim - len(region))] = b
        self.array(DONE)[index] = 1


def done_count(path) -> int:
    """How many chunks of the store at ``path`` are finished.

    Examples
    --------
    >>> import os, tempfile
    >>> from lola_sym.sweep.dataset import template
    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("matching_pennies", "nl", seeds=3, steps=4)
    >>> grid = spec.grid(chunk_rows=1)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "mp.zarr")
    ...     create(path, template(spec, grid, [], "0.1.0"), grid, 3)
    ...     counts = [done_count(path)]
    ...     for c in grid.chunks()[:2]:
    ...         Writer(path).write_chunk(c.index, grid.region(c), {})   # flags only
    ...         counts.append(done_count(path))
    >>> counts
    [0, 1, 2]
    """
    arr = _zarr().open_group(str(path), mode="r")[DONE]
    return int(np.count_nonzero(arr[:]))


def load(path, *, complete: bool = True):
    """The dataset of the store at ``path``, in memory, without the bookkeeping.

    With ``complete``, refuse a store whose chunks are not all finished.

    Examples
    --------
    A store's dataset is the one the sweep returned:

    >>> import os, tempfile
    >>> from lola_sym.sweep.run import run
    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("matching_pennies", "nl", seeds=3, steps=4)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "mp.zarr")
    ...     result = run(spec, store=path, workers=1)
    ...     ds = load(path)
    >>> ds.identical(run(spec, workers=1).dataset), DONE in ds
    (True, False)
    >>> load("no-such-store.zarr")
    Traceback (most recent call last):
    ...
    ValueError: no-such-store.zarr is not a sweep store
    """
    import xarray as xr
    if not is_store(path):
        raise ValueError(f"{path} is not a sweep store")
    if complete:
        n, total = done_count(path), _zarr().open_group(str(path), mode="r")[DONE].shape[0]
        if n < total:
            raise ValueError(f"the sweep at {path} is unfinished ({n} of {total} chunks); "
                             f"run it again to resume, or load(path, complete=False)")
    with xr.open_dataset(str(path), engine="zarr", chunks=None, consolidated=False,
                         zarr_format=_FORMAT) as ds:
        out = ds.drop_vars(DONE).load()
    if "_sweep_chunk" in out.dims:
        out = out.drop_dims("_sweep_chunk")
    for v in out.variables.values():
        v.encoding = {}
    return out
