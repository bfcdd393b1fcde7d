"""Sweeps (lola_sym.sweep): every cell against a direct ``train`` call, engines bit for bit,
lossless zarr round trip, resume after an interruption and after a kill, lost workers.

Independent routes: a cell of a sweep is compared with a one-run
:func:`lola_sym.train` call from the seed sequence the sweep documents
(``SeedSequence(entropy).spawn(n)[s]``); convergence steps with a plain loop;
TFT distances with a numpy formula; datasets across engines, chunkings and
stores byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
import xarray as xr

from lola_sym import games, train
from lola_sym.cli.support import UsageError
from lola_sym.dynamics.compare import target_distance
from lola_sym.games.outcomes import tft_like
from lola_sym.rules import get_rule
from lola_sym.sweep import LocalPool, SweepWarning, WorkerLost, load, make_spec, run, sweep
from lola_sym.sweep import store as S
from lola_sym.sweep.grid import Axis, Grid, block_shape, seed_generator, seed_sequence
from lola_sym.sweep.run import tasks_of
from lola_sym.sweep.task import os_threads, run_task

#: |numpy formula - target_distance| for the TFT distance (expit vs 1/(1+exp(-x)): a few ulp)
ATOL_FORMULA = 1e-15

IPD_RULES = ["nl", "lola", ("lola", "nl")]


def bitwise_equal(a: xr.Dataset, b: xr.Dataset) -> bool:
    """Same variables, coordinates and attributes, and every array equal byte for byte."""
    if set(a.variables) != set(b.variables) or a.attrs != b.attrs:
        return False
    for k in a.variables:
        x, y = a[k].variable, b[k].variable
        if x.dims != y.dims or x.dtype != y.dtype or x.attrs != y.attrs:
            return False
        if x.dtype.kind in "fiub" and x.values.tobytes() != y.values.tobytes():
            return False
        if x.dtype.kind not in "fiub" and not np.array_equal(x.values, y.values):
            return False
    return True


@pytest.fixture(scope="module")
def ipd_spec():
    """2 rules x ... : 3 rule entries x 2 eta x 2 delta x 5 seeds x 30 steps of the IPD."""
    return make_spec("ipd", IPD_RULES, eta=[0.5, 1.5], delta=[0.5, 1.0], seeds=5, steps=30,
                     quantities=("reward", "value", "distance", "tft", "diverged_at",
                                 "converged_at", "theta"), converge_tol=1e-3)


@pytest.fixture(scope="module")
def ipd_reference(ipd_spec):
    """The sweep run in this process, chunks of 2 rows (rows split across chunks)."""
    return run(ipd_spec, workers=1, chunk_rows=2).dataset


# ----------------------------------------------------------------- seeds and grid
def test_seed_of_an_index_is_the_spawned_child():
    children = np.random.SeedSequence(12345).spawn(7)
    for s in (0, 3, 6):
        assert np.array_equal(seed_sequence(12345, s).generate_state(8),
                              children[s].generate_state(8))
    assert not np.array_equal(seed_sequence(12345, 1).generate_state(8),
                              children[2].generate_state(8))
    a, b = seed_generator(5, 2).normal(size=4), seed_generator(5, 2).normal(size=4)
    assert np.array_equal(a, b)


def test_chunks_cover_every_cell_once():
    for sizes, target in (((3, 7), 4), ((5,), 10), ((2, 3, 4), 5), ((4, 6), 1)):
        axes = [Axis("eta", (0.1, 0.2), ("0.1", "0.2"), True, False)]
        axes += [Axis(f"r{k}", tuple(range(n)), tuple(range(n)), True, True)
                 for k, n in enumerate(sizes)]
        g = Grid(axes, target)
        count = np.zeros(g.shape, dtype=int)
        for c in g.chunks():
            assert 1 <= c.n_rows <= target
            count[g.region(c)] += 1
        assert np.all(count == 1), (sizes, target)
        assert len(g.chunks()) == g.n_chunks
    assert block_shape((20, 1000), 500) == (1, 500)
    assert block_shape((20, 1000), 4000) == (4, 1000)


# ---------------------------------------------------- cells against direct train calls
def _converged_loop(thetas, tol, diverged):
    """First t with every later step <= tol (max norm), by a plain loop; -1 if none."""
    steps = thetas[0].shape[0] - 1
    if diverged >= 0 or steps == 0:
        return -1
    first = -1
    for t in range(steps):
        move = max(float(np.max(np.abs(x[t + 1] - x[t]))) for x in thetas)
        if move > tol:
            first = -1
        elif first < 0:
            first = t
    return first


def _tft_distance_formula(t1, t2):
    p = 1.0 / (1.0 + np.exp(-np.concatenate([t1, t2], axis=-1)))
    return np.max(np.abs(p - np.array([1, 1, 0, 1, 0] * 2, dtype=float)), axis=-1)


def test_every_cell_equals_a_direct_train_call(ipd_spec, ipd_reference):
    ds = ipd_reference
    game = games.ipd()
    checked = 0
    for entry in IPD_RULES:
        names = (entry, entry) if isinstance(entry, str) else entry
        label = entry if isinstance(entry, str) else "/".join(entry)
        for eta in (0.5, 1.5):
            takes = any("eta" in get_rule(r).hyper for r in names)
            for delta in (0.5, 1.0):
                for s in range(5):
                    tr = train(game, *names, runs=1, steps=30, delta=delta,
                               seed=seed_generator(0, s), on_divergence="mark",
                               **({"eta": eta} if takes else {}))
                    cell = ds.sel(rules=label, eta=eta, delta=delta, seed=s)
                    final = [t[-1, 0] for t in tr.thetas]
                    assert np.array_equal(cell.reward.values, tr.reward[-1, 0])
                    assert np.array_equal(cell.value.values, game.value(*final))
                    assert np.array_equal(cell.theta.values, np.stack(final))
                    assert float(cell.distance) == float(target_distance(game, "tft", *final))
                    assert abs(float(cell.distance) - _tft_distance_formula(*final)) \
                        <= ATOL_FORMULA
                    assert np.array_equal(cell.tft.values,
                                          [float(tft_like(final[0])), float(tft_like(final[1]))])
                    assert int(cell.diverged_at) == int(tr.diverged_at[0]) == -1
                    assert int(cell.converged_at) == _converged_loop(
                        [t[:, 0] for t in tr.thetas], 1e-3, -1)
                    checked += 1
    assert checked == ds.sizes["rules"] * 2 * 2 * 5 == 60
    # the checks can fail: the next seed's run is another cell
    other = train(game, "nl", runs=1, steps=30, delta=0.5, seed=seed_generator(0, 1))
    assert not np.array_equal(ds.reward.sel(rules="nl", eta=0.5, delta=0.5, seed=0).values,
                              other.reward[-1, 0])


def test_nl_ignores_eta_and_converged_at_is_seen(ipd_reference):
    r = ipd_reference.reward.sel(rules="nl")
    assert np.array_equal(r.sel(eta=0.5).values, r.sel(eta=1.5).values)
    lola = ipd_reference.reward.sel(rules="lola")
    assert not np.array_equal(lola.sel(eta=0.5).values, lola.sel(eta=1.5).values)


def test_results_do_not_depend_on_the_chunking(ipd_spec, ipd_reference):
    for rows in (1, 3, None):
        assert bitwise_equal(run(ipd_spec, workers=1, chunk_rows=rows).dataset, ipd_reference)
    other = make_spec("ipd", IPD_RULES, eta=[0.5, 1.5], delta=[0.5, 1.0], seeds=5, steps=30,
                      seed=1, quantities=ipd_spec.quantities, converge_tol=1e-3)
    assert not bitwise_equal(run(other, workers=1).dataset, ipd_reference)  # can fail


def test_divergence_is_recorded_with_its_step_and_does_not_fail_the_sweep():
    ds = sweep("ipd", "nl", delta=[0.1, 100.0], seeds=6, steps=10, max_abs=50.0, workers=1)
    d = ds.diverged_at
    assert (d.sel(delta=0.1) == -1).all() and (d.sel(delta=100.0) >= 1).any()
    for s in range(6):
        tr = train(games.ipd(), "nl", runs=1, steps=10, delta=100.0, max_abs=50.0,
                   seed=seed_generator(0, s), on_divergence="mark")
        assert int(d.sel(delta=100.0, seed=s)) == int(tr.diverged_at[0])
        cell = ds.sel(delta=100.0, seed=s)
        assert np.isnan(cell.reward.values).all() == bool(tr.diverged[0])
        assert int(cell.converged_at) == (-1 if tr.diverged[0] else int(cell.converged_at))


def test_game_symbols_are_batched_rows_equal_to_direct_calls():
    fam = games.ipd(symbolic=True)
    fixed = {"R": -1.0, "S": -3.0, "T": 0.0, "P": -2.0}
    ds = sweep(fam, "nl", parameters={**fixed, "gamma": [0.8, 0.96]}, seeds=3, steps=15,
               delta=0.5, workers=1, along="reward", record_every=4)
    assert ds.reward.dims == ("gamma", "seed", "agent")
    for g in (0.8, 0.96):
        for s in range(3):
            tr = train(fam, "nl", runs=1, steps=15, delta=0.5, seed=seed_generator(0, s),
                       parameters={**fixed, "gamma": g}, on_divergence="mark")
            cell = ds.sel(gamma=g, seed=s)
            assert np.array_equal(cell.reward.values, tr.reward[-1, 0])
            assert np.array_equal(cell.reward_path.values, tr.reward[[0, 4, 8, 12, 15], 0])
    assert ds.step.values.tolist() == [0, 4, 8, 12, 15]


def test_initial_points_axis_on_tandem():
    xs = np.linspace(-1.0, 1.0, 3)
    pts = np.array([[a, b] for a in xs for b in xs])
    ds = sweep(games.tandem(), ["nl", "lola"], inits=pts, steps=20, delta=0.1, eta=0.1,
               workers=1)
    assert ds.theta0.dims == ("init", "agent", "param")
    assert np.array_equal(ds.theta0.values[:, :, 0], pts)
    for k, (a, b) in enumerate(pts):
        tr = train(games.tandem(), "lola", theta1=[[a]], theta2=[[b]], steps=20, delta=0.1,
                   eta=0.1, on_divergence="mark")
        cell = ds.sel(rules="lola", init=k)
        assert np.array_equal(cell.theta.values[:, 0], [tr.thetas[0][-1, 0, 0],
                                                        tr.thetas[1][-1, 0, 0]])
        assert np.array_equal(cell.reward.values, tr.reward[-1, 0])


# ------------------------------------------------------------------------ engines
def test_one_worker_two_workers_and_executors_are_bit_identical(ipd_spec, ipd_reference):
    pool = run(ipd_spec, workers=2, chunk_rows=2)
    assert pool.engine.startswith("local pool") and bitwise_equal(pool.dataset, ipd_reference)
    with ThreadPoolExecutor(2) as ex:
        assert bitwise_equal(run(ipd_spec, executor=ex, chunk_rows=3).dataset, ipd_reference)
    with ProcessPoolExecutor(2, mp_context=mp.get_context("forkserver")) as ex:
        assert bitwise_equal(run(ipd_spec, executor=ex).dataset, ipd_reference)


def test_dask_local_cluster_of_two_workers_is_bit_identical(ipd_spec, ipd_reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        r = run(ipd_spec, client=client, chunk_rows=2)
        assert r.engine == "dask" and bitwise_equal(r.dataset, ipd_reference)
        r2 = run(ipd_spec, executor=client.get_executor(pure=False))
        assert bitwise_equal(r2.dataset, ipd_reference)


def _pid_threads(task):
    before = os_threads()
    run_task(task)
    return before, os_threads()


@pytest.mark.skipif((os.cpu_count() or 1) < 2 or not sys.platform.startswith("linux"),
                    reason="needs two cores and /proc")
def test_threads_are_capped_inside_pool_workers():
    """A 2048-row batch: the C backend asks OpenMP for one thread per core; capped, it gets one."""
    spec = make_spec("ipd", "lola", seeds=2048, steps=2, quantities="reward")
    grid = spec.grid(2048)
    seen = {}
    for threads in (1, None):
        task = tasks_of(spec, grid, grid.chunks(), threads)[0]
        with LocalPool(1, threads=threads) as pool:
            seen[threads] = pool.submit(_pid_threads, task).result()
    assert seen[1][1] == seen[1][0]          # no OpenMP thread started
    assert seen[None][1] > seen[None][0]     # uncapped: OpenMP started its team (can fail)


# ----------------------------------------------------------------- lost workers
# tasks that kill their worker or sleep are builtins: a worker unpickles them without importing
# this module
def test_a_dead_worker_loses_only_its_own_task():
    with LocalPool(2) as pool:
        slow = pool.submit(time.sleep, 0.5)
        time.sleep(0.05)
        dying = pool.submit(signal.raise_signal, signal.SIGKILL)
        with pytest.raises(WorkerLost, match="died .exit code -9"):
            dying.result(timeout=30)
        assert slow.result(timeout=30) is None and not slow.exception()
        assert pool.submit(pow, 3, 2).result(timeout=30) == 9     # a replacement worker
        assert pool.lost == 1


def test_a_pool_whose_workers_die_before_any_task_gives_up_and_says_why():
    pool = LocalPool(1)
    try:
        for _ in range(2):
            with pytest.raises(WorkerLost):
                pool.submit(os._exit, 1).result(timeout=30)
        with pytest.raises(RuntimeError, match="3 worker processes in a row exited before"):
            pool.submit(os._exit, 1).result(timeout=30)
        with pytest.raises(RuntimeError, match="after shutdown"):
            pool.submit(pow, 2, 2)
    finally:
        pool.shutdown()


class _KillsChunkOnce(Executor):
    """A LocalPool whose first attempt at chunk ``victim`` kills its worker."""

    def __init__(self, pool, victim):
        self.pool, self.victim, self.submitted = pool, victim, []

    def submit(self, fn, task):
        self.submitted.append(task.chunk)
        if task.chunk == self.victim and self.submitted.count(self.victim) == 1:
            return self.pool.submit(signal.raise_signal, signal.SIGKILL)     # kills its worker
        return self.pool.submit(fn, task)


def test_a_chunk_whose_worker_dies_is_retried_and_said_so(ipd_spec, ipd_reference):
    with LocalPool(2) as pool:
        ex = _KillsChunkOnce(pool, victim=3)
        with pytest.warns(SweepWarning, match="chunk 3 .* lost its worker"):
            r = run(ipd_spec, executor=ex, chunk_rows=2)
        assert pool.lost == 1
    assert r.retried == 1 and r.computed == r.chunks
    assert sorted(ex.submitted) == sorted(list(range(r.chunks)) + [3])   # only chunk 3 twice
    assert bitwise_equal(r.dataset, ipd_reference)


# ------------------------------------------------------------------------ storage
def test_zarr_round_trip_is_lossless_and_a_finished_store_is_not_redone(tmp_path, ipd_spec,
                                                                        ipd_reference):
    path = tmp_path / "ipd.zarr"
    r = run(ipd_spec, workers=1, store=path, chunk_rows=2)
    assert r.computed == r.chunks and r.skipped == 0
    assert bitwise_equal(r.dataset, ipd_reference)
    assert bitwise_equal(load(path), ipd_reference)
    again = run(ipd_spec, workers=1, store=path)       # chunk rows taken from the store
    assert (again.computed, again.skipped) == (0, r.chunks)
    assert bitwise_equal(again.dataset, ipd_reference)
    other = make_spec("ipd", "nl", seeds=2, steps=3)
    with pytest.raises(ValueError, match="holds another sweep"):
        run(other, workers=1, store=path)
    with pytest.raises(ValueError, match="chunks of 2 rows"):
        run(ipd_spec, workers=1, store=path, chunk_rows=5)
    fresh = run(other, workers=1, store=path, overwrite=True)
    assert fresh.computed == fresh.chunks and load(path).sizes["seed"] == 2
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="not a sweep store"):
        run(other, workers=1, store=tmp_path / "plain", overwrite=True)


def test_attributes_name_version_spec_seeds_and_cache_keys(ipd_reference, ipd_spec):
    from lola_sym import __version__
    from lola_sym.compile import cache
    a = ipd_reference.attrs
    assert a["lola_sym_version"] == __version__ and a["seed_entropy"] == "0"
    assert hashlib.sha256(a["spec"].encode()).hexdigest() == a["spec_digest"] == ipd_spec.digest
    keys = json.loads(a["cache_keys"])
    assert {k[1] for k in keys} == {"nl", "lola", "value"}
    for _, _, key in keys:                 # each names an entry the disk cache holds
        assert cache.load(key, root=cache.location()) is not None
    assert cache.load("0" * 64, root=cache.location()) is None            # can fail


def test_an_interrupted_sweep_resumes_without_redoing_finished_chunks(tmp_path, ipd_spec,
                                                                      ipd_reference):
    path = tmp_path / "cut.zarr"

    def stop_after_four(status):
        if status.chunks_done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(ipd_spec, workers=1, store=path, chunk_rows=2, progress=stop_after_four)
    assert S.done_count(path) == 4
    with pytest.raises(ValueError, match="unfinished"):
        load(path)
    seen = []
    r = run(ipd_spec, workers=1, store=path, progress=seen.append)
    assert (r.skipped, r.computed) == (4, r.chunks - 4)
    assert len(seen) == 1 + r.chunks - 4 and seen[0].chunks_done == 4
    assert bitwise_equal(r.dataset, ipd_reference)


def test_an_interrupted_pool_stops_its_workers_and_resumes(tmp_path, ipd_spec, ipd_reference):
    path = tmp_path / "pool.zarr"

    def stop_after_three(status):
        if status.chunks_done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(ipd_spec, workers=2, store=path, chunk_rows=2, progress=stop_after_three)
    assert S.done_count(path) == 3
    r = run(ipd_spec, workers=2, store=path)
    assert (r.skipped, r.computed) == (3, r.chunks - 3)
    assert bitwise_equal(r.dataset, ipd_reference)


_KILLED_SCRIPT = textwrap.dedent("""
    import sys
    from lola_sym.sweep import run, make_spec
    if __name__ == "__main__":
        spec = make_spec("ipd", ["nl", "lola"], eta=[0.5, 1.5], seeds=8, steps=200,
                         quantities=("reward", "diverged_at"))
        run(spec, workers=1, store=sys.argv[1], chunk_rows=1)
""")


def test_a_killed_process_resumes_from_its_store(tmp_path):
    path = tmp_path / "killed.zarr"
    script = tmp_path / "sweep_script.py"
    script.write_text(_KILLED_SCRIPT)
    spec = make_spec("ipd", ["nl", "lola"], eta=[0.5, 1.5], seeds=8, steps=200,
                     quantities=("reward", "diverged_at"))
    reference = run(spec, workers=1).dataset          # also warms the cache for the child
    # the child imports the package under test (not another installed copy: its cache keys,
    # recorded in the store's attributes, digest the package's source)
    root = str(pathlib.Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    proc = subprocess.Popen([sys.executable, str(script), str(path)], env=env)
    try:
        deadline = time.time() + 600            # generous: a loaded machine is slow
        while time.time() < deadline:
            if S.is_store(path) and S.stored_chunk_rows(path) and S.done_count(path) >= 4:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    finished = S.done_count(path)
    assert 4 <= finished < 32
    r = run(spec, workers=1, store=path)
    assert (r.skipped, r.computed) == (finished, 32 - finished)
    assert bitwise_equal(r.dataset, reference)


# ------------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, message", [
    (dict(game="ipd", rules="nl", eta=[0.5]), "no rule of the sweep takes"),
    (dict(game="ipd", rules=["nl", "nope"]), "unknown rule|nope"),
    (dict(game="ipd", rules=[]), "rules axis is empty"),
    (dict(game="ipd", rules="lola", eta=[]), "eta axis is empty"),
    (dict(game="ipd", rules="lola", eta=[0.5, 0.5]), "repeats"),
    (dict(game="ipd", rules="lola", delta=[0.0, 1.0]), "delta must be positive"),
    (dict(game="ipd", rules="lola", eta=-1.0), "eta must lie in"),
    (dict(game="tandem", rules="nl", quantities=["tft"]), "needs a 2x2 iterated game"),
    (dict(game="tandem", rules="nl", inits=np.zeros((2, 2)), seeds=3), "not both"),
    (dict(game="tandem", rules="nl", inits=np.zeros((2, 3))), r"shape \(points, 2\)"),
    (dict(game="ipd", rules="nl", parameters={"gamma": 0.9}), "has no symbols"),
    (dict(game=games.ipd(symbolic=True), rules="nl"), "missing"),
    (dict(game="ipd", rules="nl", target="near"), "target must be one of"),
    (dict(game="ipd", rules=("lola", "nl", "nl")), "name 3 agents"),
])
def test_bad_arguments_say_what_to_fix(kwargs, message):
    game = kwargs.pop("game")
    rules = kwargs.pop("rules")
    with pytest.raises((ValueError, TypeError), match=message):
        make_spec(game, rules, **kwargs)


def test_engine_arguments_are_checked(ipd_spec):
    with pytest.raises(TypeError, match="concurrent.futures.Executor"):
        run(ipd_spec, executor=object())
    with pytest.raises(ValueError, match="workers must be a positive int"):
        run(ipd_spec, workers=0)
    with ThreadPoolExecutor(1) as ex, pytest.raises(ValueError, match="not both"):
        run(ipd_spec, executor=ex, client=object())


def test_dry_run_gives_the_grid_and_an_estimate():
    p = sweep("ipd", ["nl", "lola"], eta=[0.5, 1.0, 1.5], seeds=40, steps=100, dry_run=True,
              chunk_rows=16, workers=2)
    assert p.cells == 2 * 3 * 40 and p.chunks == 2 * 3 * 3
    assert p.dims == {"rules": 2, "eta": 3, "seed": 40}
    assert 0 < p.estimate_seconds < 60 and "240 cells" in str(p)


# -------------------------------------------------------------------------- figures
def test_heat_maps_and_lines_average_what_they_should(tmp_path, ipd_reference):
    from lola_sym.report import sweep_plots
    ds = ipd_reference
    m = sweep_plots.reduced(ds, "tft", ("eta", "delta"), sel={"rules": "lola"})
    by_hand = np.nanmean(ds.tft.sel(rules="lola").transpose("eta", "delta", "seed",
                                                             "agent").values, axis=(2, 3))
    assert np.allclose(m.values, by_hand, rtol=0, atol=1e-15)
    fig = sweep_plots.heatmaps(ds, ["reward", "tft"], x="eta", y="delta",
                               sel={"rules": "lola"}, path=tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000 and len(fig.axes) == 4   # + colorbars
    sweep_plots.lines(ds, "distance", x="eta", hue="rules", path=tmp_path / "l.png")
    assert (tmp_path / "l.png").is_file()
    with pytest.raises(ValueError, match="pick one value of the axis 'rules'"):
        sweep_plots.heatmap(ds, "reward", x="eta", y="delta")
    with pytest.raises(ValueError, match="not a dimension"):
        sweep_plots.heatmap(ds, "reward", x="eta", y="game", sel={"rules": "lola"})


# ------------------------------------------------------------------------------ CLI
def _cli(argv):
    from lola_sym.cli import sweep as cli_sweep
    parser = argparse.ArgumentParser(prog="lola-sym")
    cli_sweep.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sweep"] + argv)
    return args.func(args)


def test_cli_runs_stores_resumes_and_plots(tmp_path, capsys):
    out, fig = tmp_path / "r.zarr", tmp_path / "h.png"
    argv = ["--rules", "nl,lola", "--eta", "0.5:1.5:3", "--seeds", "3", "--steps", "10",
            "--workers", "1", "--out", str(out), "--json"]
    assert _cli(argv + ["--plot", str(fig), "--quantity", "reward", "--x", "eta", "--y",
                        "seed", "--sel", "rules=lola"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["dims"] == {"rules": 2, "eta": 3, "seed": 3, "agent": 2}
    assert first["computed"] == first["chunks"] and fig.is_file()
    assert _cli(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["computed"] == 0 and again["skipped"] == first["chunks"]
    ds = load(out)
    assert np.isclose(again["means"]["reward"], float(ds.reward.mean()), rtol=1e-12)
    assert _cli(["--rules", "lola", "--seeds", "4", "--steps", "5", "--dry-run"]) == 0
    assert "4 cells" in capsys.readouterr().out
    with pytest.raises(UsageError, match="no rule of the sweep takes"):
        _cli(["--rules", "nl", "--eta", "1,2", "--steps", "1"])


def test_cli_game_options_and_symbol_axes_equal_training_the_games_directly(tmp_path, capsys):
    """--gamma/--players set each game; --param makes the game's symbols an axis. Each cell
    equals train on the numeric game built directly (the symbolic family is compiled apart,
    so to rounding: RTOL_FAMILY)."""
    from lola_sym.dynamics.training import initial_parameters
    from lola_sym.sweep import load
    from lola_sym.sweep.grid import seed_generator

    def direct(game, s):
        th = initial_parameters(game, 1, seed_generator(0, s), 1.0)
        return train(game, "nl", thetas=th, steps=6, delta=1.0).reward[-1][0]

    out = tmp_path / "g.zarr"
    assert _cli(["--game", "ipd", "--rules", "nl", "--gamma", "9/10", "--seeds", "2", "--steps",
                 "6", "--workers", "1", "--out", str(out), "--json"]) == 0
    ds = load(out)
    for s in range(2):
        assert ds.reward.sel(seed=s).values.tolist() == direct(games.ipd("0.9"), s).tolist()
    out2 = tmp_path / "p.zarr"
    assert _cli(["--game", "ipd", "--rules", "nl", "--param", "gamma=0.8,0.9", "R=-1", "S=-3",
                 "T=0", "P=-2", "--seeds", "2", "--steps", "6", "--workers", "1", "--out",
                 str(out2), "--json"]) == 0
    ds = load(out2)
    assert ds.reward.dims[0] == "gamma"
    for g in (0.8, 0.9):
        for s in range(2):
            np.testing.assert_allclose(ds.reward.sel(gamma=g, seed=s).values,
                                       direct(games.ipd(str(g)), s), rtol=RTOL_FAMILY)
    capsys.readouterr()
    with pytest.raises(UsageError, match="needs a game with symbols"):
        _cli(["--game", "tandem", "--rules", "nl", "--param", "a=1", "--steps", "1"])
    with pytest.raises(UsageError, match="leave out --gamma"):
        _cli(["--game", "ipd", "--rules", "nl", "--param", "gamma=0.9", "--gamma", "0.9"])
    with pytest.raises(UsageError, match="has 2 players"):
        _cli(["--game", "ipd", "--rules", "nl", "--players", "3", "--steps", "1"])


#: a symbolic family's compiled code vs the numeric game's (different programs, same values)
RTOL_FAMILY = 1e-12


def test_agent_two_has_its_own_rate_on_the_delta2_axis():
    """delta2 makes agent 2's rate an axis: each cell equals train(delta=(delta, delta2))
    and equal rates reproduce the one-rate sweep's cells."""
    ds = sweep("ipd", "lola", delta=[0.5, 1.0], delta2=[0.1, 1.0], eta=1.0, seeds=3, steps=20,
               workers=1)
    assert ds.reward.dims[:2] == ("delta", "delta2")
    for d1, d2, s in ((0.5, 0.1, 0), (1.0, 0.1, 2), (0.5, 1.0, 1)):
        tr = train(games.ipd(), "lola", "lola", runs=1, steps=20, delta=(d1, d2), eta=1.0,
                   seed=seed_generator(0, s), on_divergence="mark")
        assert np.array_equal(ds.reward.sel(delta=d1, delta2=d2, seed=s).values,
                              tr.reward[-1, 0])
    same = sweep("ipd", "lola", delta=1.0, eta=1.0, seeds=3, steps=20, workers=1)
    assert np.array_equal(ds.reward.sel(delta=1.0, delta2=1.0).values, same.reward.values)
    assert not np.array_equal(ds.reward.sel(delta=1.0, delta2=0.1).values,
                              same.reward.values)                     # the rate matters
    with pytest.raises(ValueError, match="two-agent"):
        sweep(games.contribution(3, "1.5", memory=0), "nl", delta2=0.5, seeds=2, steps=2,
              workers=1)


def test_ftle_quantity_is_the_log_growth_of_the_jacobian_product_along_each_run():
    """The sweep's 'ftle' equals (1/T) log |DF_{T-1} ... DF_0 v| computed directly from the
    exact Jacobians (lola_sym.jacobian) along train's own path, to RTOL_FTLE; rule pairs are
    refused."""
    from lola_sym import jacobian
    from lola_sym.dynamics.training import initial_parameters
    from lola_sym.sweep.grid import seed_generator
    T, eta = 12, 1.0
    ds = sweep("ipd", "lola", eta=eta, seeds=2, steps=T, quantities=("ftle",), workers=1)
    for s in range(2):
        th = initial_parameters(games.ipd(), 1, seed_generator(0, s), 1.0)
        tr = train(games.ipd(), "lola", thetas=th, steps=T, delta=1.0, eta=eta)
        M = np.eye(10)
        for t in range(T):
            J = jacobian(games.ipd(), "lola", tr.thetas[0][t, 0], tr.thetas[1][t, 0], eta=eta)
            M = (np.eye(10) + J) @ M
        want = np.log(np.linalg.norm(M @ np.full(10, 10 ** -0.5))) / T
        assert abs(float(ds.ftle.sel(seed=s)) - want) < RTOL_FTLE * max(1.0, abs(want))
    with pytest.raises(ValueError, match="self-play"):
        sweep("ipd", [("lola", "nl")], eta=1.0, seeds=1, steps=2, quantities=("ftle",),
              dry_run=True)


#: the same products, multiplied in another order (renormalised vector vs whole matrix)
RTOL_FTLE = 1e-10
