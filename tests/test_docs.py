"""The documentation site: its how-to examples run, and its pages render maths.

* Every how-to page (``docs/howto/*.md``) is a doctest: its ``pycon`` blocks run in a fresh
  interpreter each (a page may register a rule, which must not leak into other tests).
* Slow tier: the site builds with the documented command (warnings are errors, unresolved
  cross-references included), and headless Chromium (Debian's ``chromium``) opens the index,
  one derivation page and one API page: MathJax must have typeset the maths (``mjx-container``
  elements in the rendered DOM, no raw ``$$`` or ``\\frac`` left in the visible text) and the
  screenshots must not be blank.
"""

import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HOWTOS = sorted((DOCS / "howto").glob("*.md"))
#: seconds one how-to page may take (the Dask page starts an in-process cluster)
HOWTO_TIMEOUT = 300
#: seconds for the whole site (the notebooks are executed; measured 3.6 min on 2 shared cores)
BUILD_TIMEOUT = 3600
#: Chromium: time MathJax gets to typeset, in virtual milliseconds
VIRTUAL_TIME_MS = 20000
#: a screenshot is blank when fewer than this share of its pixels differ from the background
MIN_INK = 0.01
#: pages opened in the browser: the index, one derivation page, one API page
PAGES = ("index.html", "_generated/derivations/games/ipd_lola.html",
         "reference/api/lola_sym.games.values.html")
#: math that MathJax did not typeset, as a reader would see it
RAW_MATH = re.compile(r"\$\$|\\frac|\\begin\{")
#: a warning or error of Sphinx or docutils (``path:line: WARNING: ...``), not the log lines of
#: the notebook kernels (``[IPKernelApp] WARNING | Kernel is running over TCP ...``)
SPHINX_PROBLEM = re.compile(r"(^|: )(WARNING|ERROR|CRITICAL|SEVERE):")


def test_every_howto_is_listed_and_every_example_is_a_doctest():
    index = (DOCS / "howto" / "index.md").read_text()
    names = [p.stem for p in HOWTOS if p.stem != "index"]
    assert names and all(f"\n{n}\n" in index for n in names)
    for page in HOWTOS:
        text = page.read_text()
        assert "```python" not in text, f"{page.name}: use ```pycon blocks (they are doctested)"
        if page.stem != "index":
            assert ">>> " in text, f"{page.name} has no example"


def _run_doctest(path: pathlib.Path) -> subprocess.CompletedProcess:
    code = ("import doctest, sys\n"
            f"r = doctest.testfile({str(path)!r}, module_relative=False, "
            "optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)\n"
            "print(r)\n"
            "sys.exit(1 if r.failed or not r.attempted else 0)\n")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=HOWTO_TIMEOUT, env=env, cwd=ROOT)


@pytest.mark.parametrize("path", [p for p in HOWTOS if p.stem != "index"],
                         ids=lambda p: p.stem)
def test_howto_examples_run(path):
    if path.stem == "sweep" and importlib.util.find_spec("distributed") is None:
        pytest.skip('the sweep how-to runs on Dask: pip install -e ".[dask]"')
    res = _run_doctest(path)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_a_wrong_example_fails(tmp_path):
    """The doctest runner above does catch a wrong output."""
    page = tmp_path / "wrong.md"
    page.write_text("```pycon\n>>> 1 + 1\n3\n\n```\n")
    assert _run_doctest(page).returncode == 1


# ------------------------------------------------------------------ the built site
def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _visible_text(dom: str) -> str:
    """The text a reader sees: no scripts, styles or MathJax's own (typeset) output."""
    dom = re.sub(r"(?is)<(script|style|mjx-container|mjx-assistive-mml)\b.*?</\1>", " ", dom)
    dom = re.sub(r"(?s)<[^>]+>", " ", dom)
    return dom


def _ink(png: pathlib.Path) -> float:
    """Share of the screenshot's pixels that differ from its most common colour."""
    from PIL import Image
    import numpy as np
    img = np.asarray(Image.open(png).convert("L"), dtype=np.int16)
    values, counts = np.unique(img, return_counts=True)
    background = values[np.argmax(counts)]
    return float(np.mean(np.abs(img - background) > 32))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("myst_nb") is None:
        pytest.skip('the site needs its extra: pip install -e ".[docs]"')
    out = tmp_path_factory.mktemp("site")
    # the documented command is ``sphinx-build -W -n --keep-going``; here the warnings are
    # collected instead of failing the build, so the browser checks run on the same pages
    res = subprocess.run([sys.executable, "-m", "sphinx", "-n", "--keep-going", "-q",
                          str(DOCS), str(out)], capture_output=True, text=True,
                         timeout=BUILD_TIMEOUT, cwd=ROOT, env={**os.environ, "MPLBACKEND": "Agg"})
    assert res.returncode == 0 and (out / "index.html").exists(), (res.stdout + res.stderr)[-6000:]
    warnings = [ln for ln in res.stderr.splitlines() if SPHINX_PROBLEM.search(ln)]
    return out, warnings


@pytest.mark.slow
def test_site_bundles_mathjax(site):
    out, _ = site
    assert (out / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax is not bundled"
    html = (out / "index.html").read_text()
    assert "_static/mathjax/tex-chtml.js" in html and "cdn" not in html.lower()


@pytest.mark.slow
def test_site_builds_without_warnings(site):
    _, warnings = site
    assert warnings == [], f"{len(warnings)} warnings, first: {warnings[:10]}"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_pages_render_maths_in_chromium(site, page, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("headless Chromium is missing: apt-get install -y chromium")
    url = (site[0] / page).as_uri()
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             f"--virtual-time-budget={VIRTUAL_TIME_MS}"]
    dom = subprocess.run(flags + ["--dump-dom", url], capture_output=True, text=True,
                         timeout=300).stdout
    assert "<mjx-container" in dom, f"{page}: MathJax typeset nothing"
    raw = RAW_MATH.findall(_visible_text(dom))
    assert not raw, f"{page}: raw maths left in the text: {raw[:5]}"
    png = tmp_path / (page.replace("/", "_") + ".png")
    subprocess.run(flags + ["--window-size=1280,1600", f"--screenshot={png}", url],
                   capture_output=True, timeout=300)
    assert png.exists() and _ink(png) > MIN_INK, f"{page}: the screenshot is blank"
    keep = os.environ.get("LOLA_SYM_DOCS_SCREENSHOTS")
    if keep:                            # look at them: LOLA_SYM_DOCS_SCREENSHOTS=/some/dir
        pathlib.Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, pathlib.Path(keep) / png.name)


def test_visible_text_and_ink_checks_can_fail(tmp_path):
    """Raw maths is found outside MathJax output, and a blank image has no ink."""
    assert RAW_MATH.findall(_visible_text("<p>$$ x = \\frac{1}{2} $$</p>"))
    assert not RAW_MATH.findall(_visible_text("<mjx-container>\\frac</mjx-container><p>ok</p>"))
    pil = pytest.importorskip("PIL.Image")
    blank = tmp_path / "blank.png"
    pil.new("RGB", (64, 64), "white").save(blank)
    assert _ink(blank) == 0.0


def test_warning_filter_can_fail():
    """Sphinx and docutils problems are caught (as the first build printed them); kernel logs are not."""
    assert SPHINX_PROBLEM.search("/w/lola_sym/x.py:docstring of lola_sym.x.f:4: WARNING: py:data "
                                 "reference target not found: MAX_SIDE [ref.data]")
    assert SPHINX_PROBLEM.search('/w/lola_sym/x.py:docstring of lola_sym.x.C:2: ERROR: Undefined '
                                 'substitution referenced: "theta". [docutils]')
    assert SPHINX_PROBLEM.search("WARNING: html_static_path entry '_static' does not exist")
    assert not SPHINX_PROBLEM.search("[IPKernelApp] WARNING | Kernel is running over TCP without "
                                     "encryption.")
