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
KNOWN_WITHOUT_EXAMPLES: frozenset = frozenset()


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
