"""Sphinx configuration of the lola_sym documentation site.

Build (offline, warnings are errors, unresolved cross-references included)::

    pip install -e ".[docs]" && sphinx-build -W -n --keep-going docs docs/_build/html

The tutorials are the notebooks of ``notebooks/`` and the explanation pages
include the generated Markdown of ``derivations/``: both are copied into
``docs/_generated/`` when this file is read (the folder is not committed), so the
site always shows the committed sources. The notebooks are executed at build time
(myst-nb, ``nb_execution_mode = "force"``); they already use small settings.
MathJax 3 is served from the site itself (``sphinx-mathjax-offline`` ships it), so
the pages render maths without a network.
"""

from __future__ import annotations

import os
import shutil
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import lola_sym  # noqa: E402

# ``python -m lola_sym.cli`` runs the command line when its ``__main__`` is imported; the
# recursive API summary imports every module, so it gets an empty stand-in instead.
sys.modules.setdefault("lola_sym.cli.__main__", types.ModuleType("lola_sym.cli.__main__"))

# ----------------------------------------------------------------- copied sources
GENERATED = HERE / "_generated"


def _copy_sources() -> None:
    """Copy the notebooks and the derivation pages into ``_generated/`` (fresh each build)."""
    if GENERATED.exists():
        shutil.rmtree(GENERATED)
    (GENERATED / "notebooks").mkdir(parents=True)
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy2(nb, GENERATED / "notebooks" / nb.name)
    shutil.copytree(ROOT / "derivations", GENERATED / "derivations",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))


_copy_sources()

# ----------------------------------------------------------------- API pages
API = HERE / "reference" / "api"


def _write_api_pages() -> None:
    """One page per module of lola_sym (``reference/api/``, not committed), written here.

    Autosummary's recursion resolves ``lola_sym.games.repeated`` to the function the package
    re-exports under the module's name, so the pages are listed with pkgutil instead: a module
    documents the members of its ``__all__``; a package gives its docstring (what it
    re-exports is documented where it is defined) and the functions it defines itself.
    """
    import pkgutil

    if API.exists():
        shutil.rmtree(API)
    API.mkdir(parents=True)
    names = ["lola_sym"] + [m.name for m in pkgutil.walk_packages(lola_sym.__path__, "lola_sym.")
                            if not m.name.rsplit(".", 1)[-1].startswith("_")]
    for name in names:
        module = __import__(name, fromlist=["_"])
        is_package = hasattr(module, "__path__")
        body = [name.replace("_", r"\_"), "=" * (len(name) + name.count("_")), "",
                f".. automodule:: {name}"]
        if is_package:
            # a package documents only what it defines itself (``lola_sym.cli.main``)
            own = [n for n in getattr(module, "__all__", ())
                   if getattr(getattr(module, n, None), "__module__", None) == name]
            if own:
                body += [f"   :members: {', '.join(own)}", "   :show-inheritance:"]
        else:
            body += ["   :members:", "   :undoc-members:", "   :show-inheritance:"]
            foreign = _reexported(module)
            if foreign:
                body += [f"   :exclude-members: {', '.join(foreign)}", "",
                         "Also exported here, documented where defined: "
                         + ", ".join(f"``{n}``" for n in foreign) + "."]
        (API / f"{name}.rst").write_text("\n".join(body) + "\n")


def _reexported(module) -> list:
    """Names of a module's ``__all__`` that it imports from another public module (by its source).

    Documenting them again would describe one object twice (Sphinx's "duplicate object
    description"), with its relative cross-references resolved against the wrong module.
    Names imported from a private module (``_validation``) have no other page and stay.
    """
    import ast
    import inspect

    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return []
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and not any(
                part.startswith("_") for part in (node.module or "").split(".")):
            imported.update(alias.asname or alias.name for alias in node.names)
    return sorted(n for n in getattr(module, "__all__", ()) if n in imported)


_write_api_pages()

# ----------------------------------------------------------------- project
project = "lola_sym"
author = "the lola_sym authors"
copyright = "2026, the lola_sym authors"
release = lola_sym.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_nb",
    "sphinx-mathjax-offline",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# ----------------------------------------------------------------- MyST and notebooks
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("LOLA_SYM_DOCS_EXECUTE", "force")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# ----------------------------------------------------------------- API reference
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set = set()

# no network at build time: intersphinx has no inventories to fetch
intersphinx_mapping: dict = {}

nitpicky = True
# without a network there are no intersphinx inventories: names of other libraries stay plain
# text, and private helpers named in docstrings are not part of the reference
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|sympy|sp|scipy|matplotlib|xarray|zarr|dask|distributed|concurrent"
               r"|collections|typing|pathlib|fractions|mpmath|symengine|threadpoolctl"
               r"|argparse)(\..*)?"),
    (r"py:.*", r"(.*\.)?_[a-z].*"),
]
# numpydoc's References sections list the sources whether or not the text cites them by number
suppress_warnings = ["ref.citation"]

# ----------------------------------------------------------------- HTML
html_theme = "furo"
html_title = f"lola_sym {release}"
html_static_path = ["_static"]


# ----------------------------------------------------------------- re-exported names
def _resolve_reexport(app, env, node, contnode):
    """Resolve ``lola_sym.update_field`` (a re-export) to where the object is defined.

    Packages re-export names from their modules; the reference documents each object once,
    in its defining module, so a cross-reference to the re-exported name is pointed there.
    Names relative to the current module (``QUANTITIES`` in lola_sym.sweep.quantities) are
    tried with the module prefixed.
    """
    import importlib

    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    module = node.get("py:module") or ""
    for name in (target, f"{module}.{target}" if module else None):
        if not name or not name.startswith("lola_sym"):
            continue
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                break
            home = getattr(obj, "__module__", None)
            qual = getattr(obj, "__qualname__", None)
            if home and qual and f"{home}.{qual}" != name:
                domain = env.get_domain("py")
                return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                           f"{home}.{qual}", node, contnode)
            break
    return None


def setup(app):
    app.connect("missing-reference", _resolve_reexport)
