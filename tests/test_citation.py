"""CITATION.cff is valid Citation File Format 1.2 and agrees with the package.

The keys CFF 1.2.0 requires at the top level (``cff-version``, ``message``,
``title``, ``authors``) are present with the right types, every author and
reference author is a person or an entity, and the version is the package's.
(``cffconvert --validate`` checks the full schema; it is not a dependency.)
"""

import datetime
import pathlib

import pytest

import lola_sym

yaml = pytest.importorskip("yaml", reason="PyYAML parses CITATION.cff")

CFF = pathlib.Path(__file__).resolve().parents[1] / "CITATION.cff"
REQUIRED = {"cff-version": str, "message": str, "title": str, "authors": list}
#: keys a CFF 1.2.0 file may have at the top level (from the format's specification)
ALLOWED = {"abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi",
           "identifiers", "keywords", "license", "license-url", "message", "preferred-citation",
           "references", "repository", "repository-artifact", "repository-code", "title", "type",
           "url", "version"}


def _load():
    return yaml.safe_load(CFF.read_text(encoding="utf-8"))


def _problems(cff) -> list:
    """What is wrong with a parsed CITATION.cff (empty when valid)."""
    if not isinstance(cff, dict):
        return ["the file is not a mapping"]
    out = [f"missing {k!r}" for k in REQUIRED if k not in cff]
    out += [f"{k!r} must be a {t.__name__}" for k, t in REQUIRED.items()
            if k in cff and not isinstance(cff[k], t)]
    out += [f"unknown key {k!r}" for k in sorted(set(cff) - ALLOWED)]
    if cff.get("cff-version") != "1.2.0":
        out.append(f"cff-version must be '1.2.0', got {cff.get('cff-version')!r}")
    if cff.get("type", "software") not in ("software", "dataset"):
        out.append("type must be 'software' or 'dataset'")
    people = list(cff.get("authors") or [])
    for ref in cff.get("references", []):
        for k in ("type", "title", "authors"):
            if k not in ref:
                out.append(f"reference {ref.get('title', '?')!r} lacks {k!r}")
        people += ref.get("authors", [])
    for a in people:
        if not isinstance(a, dict) or not ({"name"} <= set(a) or {"family-names"} <= set(a)):
            out.append(f"author {a!r} needs 'name' (an entity) or 'family-names' (a person)")
    if not cff.get("authors"):
        out.append("authors must not be empty")
    if "date-released" in cff and not isinstance(cff["date-released"], datetime.date):
        out.append("date-released must be a date (YYYY-MM-DD)")
    return out


def test_citation_file_is_valid_cff():
    assert _problems(_load()) == []


def test_citation_version_is_the_package_version():
    assert str(_load()["version"]) == lola_sym.__version__


@pytest.mark.parametrize("broken", [
    lambda c: c.pop("title"),
    lambda c: c.update({"cff-version": "1.1.0"}),
    lambda c: c.update({"authors": [{"given-names": "only"}]}),
    lambda c: c.update({"titel": "typo"}),
])
def test_the_check_can_fail(broken):
    cff = _load()
    broken(cff)
    assert _problems(cff)
