"""The committed derivation files match what the code derives now."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "derivations" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_values_markdown_is_up_to_date():
    mod = _load("values")
    committed = (ROOT / "derivations" / "values.md").read_text()
    assert mod.render() == committed, "run: python derivations/values.py"
