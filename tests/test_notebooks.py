"""The tutorial notebooks run top to bottom, and are committed without outputs.

Each notebook is executed with nbclient in a fresh ``python3`` kernel started
from this interpreter (``sys.executable``, so the kernel sees the same
installed ``lola_sym``), inheriting the test session's compiled-code cache
(``tests/conftest.py``). A cell that raises, including a failed ``assert``
in the notebook's own checks, fails the test.
"""

import importlib.util
import os
import pathlib
import sys

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: seconds one cell may take (the slowest cells take a few seconds on 2 cores)
CELL_TIMEOUT = 300
#: seconds for the kernel to start
STARTUP_TIMEOUT = 120


def _read(path):
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def _kernel_manager():
    """A python3 kernel manager that launches the kernel with this very interpreter."""
    km = KernelManager(kernel_name="python3")
    km.kernel_spec.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return km


def test_the_tutorials_are_there():
    names = [p.name for p in NOTEBOOKS]
    assert names == ["01_reproduce_lola.ipynb", "02_derived_equations.ipynb",
                     "03_matching_pennies_stability.ipynb", "04_rule_family.ipynb",
                     "05_policy_gradient_check.ipynb"]


#: notebooks over 5 s: run in the slow tier (the documentation build executes every notebook
#: there too); the first stays in the default run
HEAVY_NOTEBOOKS = ("02_derived_equations", "03_matching_pennies_stability", "04_rule_family",
                   "05_policy_gradient_check")


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=pytest.mark.slow)
                                  if p.stem in HEAVY_NOTEBOOKS else pytest.param(p, id=p.stem)
                                  for p in NOTEBOOKS])
def test_notebook_executes(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, km=_kernel_manager(), timeout=CELL_TIMEOUT,
                            startup_timeout=STARTUP_TIMEOUT, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    env = {**os.environ, "MPLBACKEND": "Agg"}
    client.execute(env=env)        # raises CellExecutionError naming the failing cell
    executed = [c for c in nb.cells if c.cell_type == "code"]
    assert executed and all(c.execution_count is not None for c in executed)
    errors = [o for c in executed for o in c.outputs if o.output_type == "error"]
    assert not errors


def _unstripped(nb) -> list:
    """What keeps ``nb`` from being committed: outputs, execution counts, timings."""
    problems = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.outputs:
            problems.append(f"cell {k} has outputs")
        if cell.execution_count is not None:
            problems.append(f"cell {k} has an execution count")
        if "execution" in cell.metadata:
            problems.append(f"cell {k} has execution timings")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stripped(path):
    nb = _read(path)
    nbformat.validate(nb)
    assert _unstripped(nb) == [], f"{path.name}: strip it (python notebooks/_build.py rewrites it)"


def test_stripped_check_can_fail():
    nb = _read(NOTEBOOKS[0])
    k, cell = next((k, c) for k, c in enumerate(nb.cells) if c.cell_type == "code")
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    cell.metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
    assert _unstripped(nb) == [f"cell {k} has outputs", f"cell {k} has an execution count",
                               f"cell {k} has execution timings"]


def test_notebooks_match_their_generator():
    """``notebooks/_build.py`` holds the cell sources: the committed notebooks equal them."""
    spec = importlib.util.spec_from_file_location("_build", NOTEBOOK_DIR / "_build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert sorted(build.NOTEBOOKS) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        committed = [(c.cell_type, c.source) for c in _read(path).cells]
        generated = [(c.cell_type, c.source) for c in build.NOTEBOOKS[path.name]]
        assert committed == generated, f"{path.name} is out of date: run python notebooks/_build.py"
