"""Docstring coverage of the public API: reported, and kept from falling.

Every function and class named in the ``__all__`` of a module of ``lola_sym`` (and defined
there) must have a docstring, and every such function an ``Examples`` section with at least one
doctest (``>>>``; they run with the test suite through ``--doctest-modules``). The items that
lacked them when this test was written are listed below: the lists may only shrink (an entry
that gained its docstring or example, or disappeared, must be removed), and anything new must
come documented. ``python -m pytest tests/test_docstrings.py -rP`` prints the coverage.
"""

import importlib
import inspect
import pkgutil

import lola_sym

#: public items without a docstring: none left (2026-11-29); keep it empty
KNOWN_UNDOCUMENTED: frozenset = frozenset()

#: public functions with a docstring but without a doctested Examples section (2026-11-29)
KNOWN_WITHOUT_EXAMPLES = frozenset({
    "lola_sym.analysis.bifurcations.detect",
    "lola_sym.cli.main",
    "lola_sym.cli.build_parser",
    "lola_sym.cli.reports.run_report",
    "lola_sym.cli.support.emit",
    "lola_sym.cli.sweep.add_parser",
    "lola_sym.cli.sweep.run",
    "lola_sym.compile.backend_c.available",
    "lola_sym.compile.backend_c.build",
    "lola_sym.compile.backend_c.call",
    "lola_sym.compile.backend_c.point",
    "lola_sym.compile.backend_c.to_payload",
    "lola_sym.compile.backend_c.from_payload",
    "lola_sym.compile.backend_c.build_library",
    "lola_sym.compile.backend_c.load",
    "lola_sym.compile.backend_llvm.available",
    "lola_sym.compile.backend_llvm.build",
    "lola_sym.compile.backend_llvm.call",
    "lola_sym.compile.backend_llvm.point",
    "lola_sym.compile.backend_llvm.to_payload",
    "lola_sym.compile.backend_llvm.from_payload",
    "lola_sym.compile.backend_numpy.build",
    "lola_sym.compile.backend_numpy.call",
    "lola_sym.compile.backend_numpy.point",
    "lola_sym.compile.backend_numpy.to_payload",
    "lola_sym.compile.cache.cache_dir",
    "lola_sym.compile.cache.location",
    "lola_sym.compile.cache.load",
    "lola_sym.compile.cache.clear",
    "lola_sym.compile.cached.compiled_for",
    "lola_sym.sampling.memory_one.to_axelrod_game",
    "lola_sym.sampling.memory_one.simulate_axelrod",
    "lola_sym.sweep.dataset.template",
    "lola_sym.sweep.engine.executor_for",
    "lola_sym.sweep.engine.execute",
    "lola_sym.sweep.quantities.compute",
    "lola_sym.sweep.run.run",
    "lola_sym.sweep.run.plan",
    "lola_sym.sweep.run.tasks_of",
    "lola_sym.sweep.store.create",
    "lola_sym.sweep.store.reopen",
    "lola_sym.sweep.store.load",
    "lola_sym.sweep.store.done_count",
    "lola_sym.sweep.store.stored_chunk_rows",
    "lola_sym.sweep.task.run_task",
    "lola_sym.sweep.task.cap_threads",
    "lola_sym.sweep.task.cell_thetas",
    "lola_sym.sweep.task.os_threads",
    "lola_sym.sweep.warm.warm",
})


def public_items() -> dict:
    """``{"module.name": object}`` for every function and class in a module's ``__all__``."""
    out = {}
    for info in pkgutil.walk_packages(lola_sym.__path__, "lola_sym."):
        if info.name.endswith("__main__"):        # importing it runs the command line
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) \
                    and getattr(obj, "__module__", None) == module.__name__:
                out[f"{module.__name__}.{name}"] = obj
    return out


def has_example(doc: str) -> bool:
    """Whether a numpydoc docstring has an Examples section with a doctest in it."""
    _, found, section = doc.partition("Examples\n--------")
    return bool(found) and ">>>" in section


def coverage(items) -> dict:
    """Counts: items, documented items, functions, functions with a doctested example."""
    docs = {k: inspect.getdoc(v) or "" for k, v in items.items()}
    functions = [k for k, v in items.items() if inspect.isfunction(v)]
    return {"items": len(items), "documented": sum(bool(d) for d in docs.values()),
            "functions": len(functions),
            "with_examples": sum(has_example(docs[k]) for k in functions)}


ITEMS = public_items()


def test_report_coverage():
    c = coverage(ITEMS)
    print(f"docstrings: {c['documented']}/{c['items']} public items "
          f"({100 * c['documented'] / c['items']:.1f}%); Examples with doctests: "
          f"{c['with_examples']}/{c['functions']} public functions "
          f"({100 * c['with_examples'] / c['functions']:.1f}%)")
    assert c["items"] > 300 and c["functions"] > 200


def test_every_public_item_has_a_docstring():
    missing = {k for k, v in ITEMS.items() if not inspect.getdoc(v)}
    assert missing - KNOWN_UNDOCUMENTED == set(), "document these"
    assert KNOWN_UNDOCUMENTED - missing == set(), "documented now: remove from the list"


def test_every_public_function_has_a_doctested_example():
    missing = {k for k, v in ITEMS.items()
               if inspect.isfunction(v) and inspect.getdoc(v) and not has_example(inspect.getdoc(v))}
    assert missing - KNOWN_WITHOUT_EXAMPLES == set(), "give these an Examples section"
    assert KNOWN_WITHOUT_EXAMPLES - missing == set(), "have examples now: remove from the list"


def test_the_example_check_can_fail():
    assert not has_example("Summary.\n\nExamples\n--------\nNo doctest here.\n")
    assert not has_example("Summary with >>> but no section.")
    assert has_example("Summary.\n\nExamples\n--------\n>>> 1 + 1\n2\n")
