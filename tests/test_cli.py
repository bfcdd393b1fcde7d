"""Tests of the lola-sym command line: every subcommand in-process with small settings, the
installed executable in a subprocess, exit codes and one-line errors."""

import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from lola_sym import games, train
from lola_sym.cli.support import train_in_chunks
from lola_sym.cli import build_parser, main
from lola_sym.field import forget_compiled, update_field
from lola_sym.analysis.stability import classify
from lola_sym.dynamics.training import DivergenceError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COMMANDS = ("reproduce", "derive", "train", "compare", "tournament", "fixed-points", "stability",
            "nash-report", "cache", "sweep")


def run_json(argv, capsys) -> dict:
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def exit_code(argv) -> int:
    """The exit code of ``main(argv)``, whether argparse exits or main returns."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def assert_one_line_error(capsys, command):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"lola-sym {command}: error: ") and "Traceback" not in err


# ------------------------------------------------------------------ reproduce
def test_reproduce_json_parses(capsys):
    assert main(["reproduce", "lola2018", "--runs", "3", "--steps", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs"] == 3 and len(out["rows"]) == 6
    assert {"game", "setting", "r_mean", "paper_r_mean"} <= set(out["rows"][0])


def test_reproduce_table(capsys):
    assert main(["reproduce", "lola2018", "--runs", "2", "--steps", "1", "--games", "IMP"]) == 0
    out = capsys.readouterr().out
    assert "Nash dist" in out and "IMP" in out and "IPD" not in out.split("\n", 3)[3]


def test_reproduce_lola2018_defaults_are_the_papers(capsys):
    args = build_parser().parse_args(["reproduce", "lola2018"])
    from lola_sym.cli.commands import _REPRODUCE_DEFAULTS
    assert args.runs is None and _REPRODUCE_DEFAULTS["lola2018"] == dict(
        runs=50, steps=200, delta=1.0, eta=1.0)


def test_reproduce_sos_tandem_published_numbers(capsys):
    """Letcher et al. 2019 (SOS), Tandem, alpha = 0.1, a = b = 0.5, N(0, 0.1^2): LOLA's
    losses average 4/9, SOS's 0 (fewer runs than the paper's 300; the limit is exact)."""
    out = run_json(["reproduce", "sos-tandem", "--runs", "8"], capsys)
    rows = {r["setting"]: r for r in out["rows"]}
    assert abs(rows["LOLA"]["loss_mean"] - 4 / 9) < 1e-6 and abs(rows["SOS"]["loss_mean"]) < 1e-6
    assert out["steps"] == 1000 and out["delta"] == 0.1 and rows["LOLA"]["diverged"] == 0


# --------------------------------------------------------------------- derive
def test_derive_prints_markdown(capsys):
    assert main(["derive", "--game", "matching_pennies", "--rule", "lola"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "# LOLA (first order, Eq. 4.4) on matching pennies"
    assert "$$ g_{1}" in out


def test_derive_exact_hyper_and_order(capsys):
    out = run_json(["derive", "--game", "tandem", "--rule", "hola", "--order", "3",
                    "--eta", "1/2"], capsys)
    assert out["hyper"] == {"eta": "1/2"} and out["options"] == {"order": 3}
    assert "render('tandem', 'hola', order=3, eta='1/2')" in out["markdown"]


def test_derive_rule_page_to_file(tmp_path, capsys):
    path = tmp_path / "pages" / "nl.md"
    assert main(["derive", "--rule", "nl", "--rule-page", "--out", str(path)]) == 0
    assert capsys.readouterr().out == ""
    assert path.read_text().startswith("# naive learner (`nl`)")


# ---------------------------------------------------------------------- train
TRAIN = ["train", "--game", "tandem", "--rule", "lola_full", "--rule2", "nl", "--runs", "3",
         "--steps", "10", "--delta", "0.1", "--eta", "0.1", "--seed", "4"]


def test_train_json_matches_the_library(capsys):
    out = run_json(TRAIN, capsys)
    tr = train(games.tandem(), "lola_full", "nl", runs=3, steps=10, delta=0.1, seed=4,
               eta=0.1, on_divergence="mark")
    assert {"game", "rules", "hyper", "reward_mean", "reward_std", "diverged", "final_reward",
            "final_theta1", "final_theta2", "seed", "method"} <= set(out)
    assert out["rules"] == ["lola_full", "nl"] and out["diverged"] == 0
    np.testing.assert_array_equal(out["final_reward"], tr.final_reward)
    np.testing.assert_array_equal(out["reward_mean"], tr.final_reward.mean(axis=0))


def test_train_progress_gives_the_same_result(capsys):
    plain = run_json(TRAIN, capsys)
    assert main(TRAIN + ["--json", "--progress"]) == 0
    cap = capsys.readouterr()
    chunked = json.loads(cap.out)
    assert "train [" in cap.err and "10/10" in cap.err
    assert chunked["final_theta1"] == plain["final_theta1"]
    assert chunked["final_reward"] == plain["final_reward"]


def test_train_text_summary_and_plot(tmp_path, capsys):
    png = tmp_path / "curves.png"
    assert main(["train", "--game", "matching_pennies", "--rule", "lola", "--runs", "2",
                 "--steps", "5", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "agent 1 (lola):" in out and "0 diverged" in out
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 1000


def test_train_out_writes_json(tmp_path, capsys):
    path = tmp_path / "train.json"
    assert main(TRAIN + ["--json", "--out", str(path)]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(path.read_text())["steps"] == 10


def test_train_divergence_marked_or_raised(capsys):
    argv = ["train", "--game", "balduzzi", "--rule", "nl", "--runs", "2", "--steps", "10"]
    out = run_json(argv, capsys)
    assert out["diverged"] == 2 and out["reward_mean"] == [None, None]   # strict JSON: no NaN
    assert main(argv + ["--on-divergence", "raise"]) == 1
    assert_one_line_error(capsys, "train")


@pytest.mark.parametrize("game, rule, method, delta, steps", [
    ("tandem", "lola_full", "simultaneous", 0.1, 11),
    ("matching_pennies", "lola", "extragradient", 1.0, 9),
    ("balduzzi", "nl", "simultaneous", 1.0, 12),        # diverges at update 5: marks kept
    ("hamiltonian", "nl", "optimistic", 0.3, 7),        # never chunked (remembers g_{t-1})
])
def test_chunked_training_equals_one_call(game, rule, method, delta, steps):
    g = games.by_name(game)
    kw = dict(runs=4, steps=steps, delta=delta, seed=2, method=method)
    seen = []
    a = train_in_chunks(g, rule, on_divergence="mark", chunk=3, callback=seen.append, **kw)
    b = train(g, rule, on_divergence="mark", **kw)
    for name in ("theta1", "theta2", "reward", "diverged_at"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.rules == b.rules and a.hyper == b.hyper and seen[-1] == steps
    assert seen == ([steps] if method == "optimistic" else sorted(set(
        [min(k, steps) for k in range(3, steps + 3, 3)])))


def test_chunked_training_raises_like_one_call():
    kw = dict(runs=2, steps=10, delta=1.0, seed=0)
    with pytest.raises(DivergenceError) as one:
        train(games.balduzzi(), "nl", **kw)
    with pytest.raises(DivergenceError) as chunked:
        train_in_chunks(games.balduzzi(), "nl", chunk=3, **kw)
    assert str(chunked.value) == str(one.value)


# -------------------------------------------------------------------- compare
def test_compare_json_and_plot(tmp_path, capsys):
    png = tmp_path / "compare.png"
    out = run_json(["compare", "--game", "tandem", "--rules", "nl", "sos", "hola:order=3",
                    "--runs", "3", "--steps", "5", "--delta", "0.1", "--eta", "0.1",
                    "--plot", str(png)], capsys)
    assert {"game", "target", "settings", "outcomes"} <= set(out)
    assert out["target"] == "nash" and [o["label"] for o in out["outcomes"]] == [
        "nl", "sos", "hola(order=3)"]
    assert {"r1_mean", "r2_mean", "distance_mean", "diverged"} <= set(out["outcomes"][0])
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_compare_table_without_target(capsys):
    assert main(["compare", "--game", "hamiltonian", "--rules", "nl", "co", "--hyper",
                 "gamma=0.5", "--runs", "2", "--steps", "3", "--target", "none"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Hamiltonian:") and "target=None" in out and "\nco " in out


# ----------------------------------------------------------------- tournament
def test_tournament_json_and_progress(capsys):
    assert main(["tournament", "--rules", "nl", "lola:eta=0.5", "--runs", "2", "--steps", "3",
                 "--json", "--progress"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["rules"] == ["nl", "lola"] and len(out["pairs"]) == 4
    assert out["hyper"]["lola"] == {"eta": 0.5} and "policies" not in out["pairs"][0]
    assert "tournament [" in cap.err and "3/3" in cap.err


def test_tournament_table(capsys):
    assert main(["tournament", "--rules", "nl", "lola", "--runs", "2", "--steps", "2"]) == 0
    assert "IPD tournament" in capsys.readouterr().out


# ----------------------------------------------------------- fixed points, stability
def test_fixed_points_json_and_portrait(tmp_path, capsys):
    png = tmp_path / "mp.png"
    out = run_json(["fixed-points", "--game", "matching_pennies", "--rule", "lola",
                    "--starts", "6", "--plot", str(png)], capsys)
    interior = [p for p in out["points"] if not p["boundary"]]
    assert len(interior) == 1 and interior[0]["flow"] == "stable"
    assert abs(interior[0]["theta1"][0]) < 1e-9 and interior[0]["residual"] < 1e-10
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_fixed_points_exact(capsys):
    assert main(["fixed-points", "--game", "tandem", "--rule", "lola", "--exact"]) == 0
    assert "x = -y - 1/(2*eta - 1)" in capsys.readouterr().out
    out = run_json(["fixed-points", "--game", "tandem", "--rule", "lola", "--exact",
                    "--eta", "1"], capsys)
    assert out["solutions"] == [{"x": "-y - 1"}]


def test_stability_with_exact_threshold(capsys):
    argv = ["stability", "--game", "matching_pennies", "--rule", "lola", "--theta1", "0",
            "--theta2", "0", "--delta", "1", "--exact-threshold"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "flow: stable" in text and "exact delta*: 32*eta/(eta**2 + 16)" in text
    out = run_json(argv, capsys)
    assert {"flow", "eigenvalues", "lr_threshold", "spectral_radius", "map",
            "exact_threshold"} <= set(out)
    assert out["map"] == "converges" and abs(out["lr_threshold"] - 32 / 17) < 1e-12


def test_nash_report_json(capsys):
    out = run_json(["nash-report", "--rules", "nl", "lola", "--include", "one-shot",
                    "--runs", "2", "--steps", "5"], capsys)
    assert [(r["rule"], r["flow"]) for r in out["rows"]] == [("nl", "centre"),
                                                             ("lola", "stable")]
    assert out["settings"]["runs"] == 2


@pytest.mark.parametrize("theta1, theta2", [
    (["-1/2"], ["-1e-3"]),
    (["-.5"], ["-1E-3"]),
    (["-1"], ["+2/3"]),
])
def test_stability_takes_negative_fractions_and_exponents(theta1, theta2, capsys):
    """Negative numbers of every form are values, not options (argparse knew only -1, -0.5)."""
    out = run_json(["stability", "--game", "matching_pennies", "--rule", "lola", "--theta1",
                    *theta1, "--theta2", *theta2, "--eta", "1/4"], capsys)
    t1, t2 = (np.array([float(Fraction(v)) for v in t]) for t in (theta1, theta2))
    ref = classify(games.matching_pennies(), "lola", t1, t2, eta=0.25)
    assert out["theta1"] == t1.tolist() and out["theta2"] == t2.tolist()
    assert out["eigenvalues"] == [[z.real, z.imag] for z in ref.eigenvalues]


def test_negative_numbers_parse_for_single_valued_options():
    args = build_parser().parse_args(["train", "--game", "ipd", "--rule", "co", "--eta", "-1/2",
                                      "--hyper", "gamma=-1e-3"])
    assert args.eta == Fraction(-1, 2) and args.hyper == [("gamma", Fraction(-1, 1000))]


def test_several_negative_numbers_in_one_option(capsys):
    out = run_json(["stability", "--game", "ipd", "--rule", "nl", "--theta1", "-1/2", "-1e-3",
                    "0", "-.25", "3", "--theta2", "-2"], capsys)
    assert out["theta1"] == [-0.5, -0.001, 0.0, -0.25, 3.0] and out["theta2"] == [-2.0] * 5


ST = ["stability", "--game", "matching_pennies", "--rule", "lola"]


@pytest.mark.parametrize("argv, name", [
    (ST + ["--theta1", "1e400", "--theta2", "0"], "--theta1"),
    (ST + ["--theta1", "-1e400", "--theta2", "0"], "--theta1"),
    (ST + ["--theta1", "0", "--theta2", "1e-400"], "--theta2"),
    (ST + ["--theta1", "nan", "--theta2", "0"], "--theta1"),
    (ST + ["--theta1", "0", "--theta2", "-inf"], "--theta2"),
    (ST + ["--theta1", "1/0", "--theta2", "0"], "--theta1"),
    (ST + ["--theta1", "1" + "0" * 400 + "/3", "--theta2", "0"], "--theta1"),
    (ST + ["--theta1", "1/" + "9" * 500, "--theta2", "0"], "--theta1"),
    (ST + ["--theta1", "0", "--theta2", "0", "--eta", "1e400"], "--eta"),
    (ST + ["--theta1", "0", "--theta2", "0", "--eta", "__import__('os')"], "--eta"),
    (ST + ["--theta1", "0", "--theta2", "0", "--hyper", "eta=1e400"], "eta"),
    (ST + ["--theta1", "0", "--theta2", "0", "--delta", "1e400"], "--delta"),
    (["train", "--game", "ipd", "--rule", "nl", "--gamma", "1/0"], "--gamma"),
    (["train", "--game", "ipd", "--rule", "nl", "--gamma", "-1e400"], "--gamma"),
    (["train", "--game", "ipd", "--rule", "nl", "--runs", "1e400"], "--runs"),
    (["train", "--game", "ipd", "--rule", "nl", "--seed", "9" * 30], "--seed"),
    (["compare", "--game", "tandem", "--rules", "lola:eta=inf"], "eta"),
    (["tournament", "--rules", "nl", "lola:eta=-1e999"], "eta"),
    # checked before running (they exited 1, some with a message naming another argument)
    (ST + ["--theta1", "1e300", "--theta2", "0", "--exact-threshold"], "--theta1"),
    (ST + ["--theta1", "0", "--theta2", "-2000", "--exact-threshold"], "--theta2"),
    (["train", "--game", "tandem", "--rule", "nl", "--init-std", "1e308"], "--init-std"),
    (["compare", "--game", "tandem", "--rules", "nl", "--init-std", "1e4"], "--init-std"),
    (["tournament", "--rules", "nl", "--init-std", "1001"], "--init-std"),
    (["train", "--game", "ipd", "--rule", "nl", "--gamma", "0.99999999"], "--gamma"),
    (["fixed-points", "--game", "tandem", "--rule", "nl", "--starts", "100000000"], "--starts"),
    (["fixed-points", "--game", "tandem", "--rule", "nl", "--scale", "1e6"], "--scale"),
])
def test_absurd_numbers_exit_2_naming_the_argument(argv, name, capsys):
    assert exit_code(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"lola-sym {argv[0]}: error: ") and name in err[-1], err
    assert "Traceback" not in "\n".join(err) and len(err[-1]) < 300


def test_huge_exponent_is_refused_at_once():
    """``1e999999999`` once made Fraction build a billion-digit integer (no answer in 120 s)."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "lola_sym.cli", *ST, "--theta1", "0",
                          "--theta2", "0", "--eta", "1e999999999"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "argument --eta" in out.stderr
    assert time.perf_counter() - t0 < 60


# ---------------------------------------------------------------------- cache
def test_cache_info_and_clear(tmp_path, monkeypatch, capsys):
    root = tmp_path / "cache"
    monkeypatch.setenv("LOLA_SYM_CACHE_DIR", str(root))
    monkeypatch.setenv("LOLA_SYM_CACHE_MAX_MB", "123")
    monkeypatch.delenv("LOLA_SYM_NO_CACHE", raising=False)
    forget_compiled()
    update_field(games.tandem(), "nl", backend="c")
    update_field(games.tandem(), "nl", backend="llvm")
    size = sum(p.stat().st_size for p in [*root.glob("*.entry"), *root.glob("lib/*")])
    info = run_json(["cache", "info"], capsys)
    assert info == {"directory": str(root), "enabled": True, "entries": 2, "libraries": 1,
                    "bytes": size, "max_bytes": 123_000_000}
    assert main(["cache", "info"]) == 0
    text = capsys.readouterr().out
    assert f"directory: {root}" in text and "entries: 2" in text and "cap: 123 MB" in text
    cleared = run_json(["cache", "clear"], capsys)
    assert cleared == {"directory": str(root), "entries_removed": 2, "libraries_removed": 1,
                       "bytes_removed": size}
    assert run_json(["cache", "info"], capsys)["entries"] == 0
    assert not list(root.glob("*.entry")) and not list(root.glob("lib/*"))
    assert main(["cache", "clear"]) == 0
    assert capsys.readouterr().out.startswith("removed 0 entries and 0 libraries")
    monkeypatch.setenv("LOLA_SYM_NO_CACHE", "1")
    assert run_json(["cache", "info"], capsys)["enabled"] is False
    forget_compiled()


# --------------------------------------------------------- help, bad arguments
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    assert exit_code([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: lola-sym {command}") and "examples:" in out


@pytest.mark.parametrize("argv", [
    ["reproduce", "lola2017"],
    ["reproduce", "lola2018", "--runs", "0"],
    ["reproduce", "lola2018", "--delta", "nan"],
    ["reproduce", "lola2018", "--eta", "-1"],
    [],
    ["train", "--game", "pd", "--rule", "nl"],                              # unknown game
    ["train", "--game", "ipd", "--rule", "lolx"],                           # unknown rule
    ["train", "--game", "ipd", "--rule", "lola", "--hyper", "eta"],         # not k=v
    ["train", "--game", "ipd", "--rule", "lola", "--hyper", "eta=fast"],    # not a number
    ["train", "--game", "ipd", "--rule", "nl", "--eta", "1"],               # nl takes no eta
    ["train", "--game", "ipd", "--rule", "lola", "--eta", "1", "--hyper", "eta=2"],
    ["train", "--game", "tandem", "--rule", "hola", "--hyper", "order=1.5"],
    ["train", "--game", "ipd", "--rule", "nl", "--gamma", "1"],             # gamma invalid
    ["train", "--game", "ipd", "--rule", "nl", "--gamma", "nan"],
    ["train", "--game", "tandem", "--rule", "nl", "--gamma", "0.5"],        # one-shot game
    ["train", "--game", "ipd", "--rule", "nl", "--delta", "0"],             # delta invalid
    ["train", "--game", "ipd", "--rule", "nl", "--delta", "inf"],
    ["train", "--game", "ipd", "--rule", "nl", "--plot", "curves.svg"],
    ["derive", "--rule", "nl"],                                             # no game
    ["derive", "--rule", "nl", "--rule-page", "--game", "ipd"],
    ["compare", "--game", "tandem", "--rules", "nl", "nl"],
    ["compare", "--game", "tandem", "--rules", "hola:depth=2"],
    ["compare", "--game", "tandem", "--target", "tft"],
    ["tournament", "--game", "tandem"],
    ["tournament", "--rules", "hola:order=1.5"],
    ["fixed-points", "--game", "ipd", "--rule", "nl", "--exact"],
    ["fixed-points", "--game", "tandem", "--rule", "sos", "--exact"],
    ["fixed-points", "--game", "ipd", "--rule", "nl", "--plot", "x.png"],
    ["stability", "--game", "ipd", "--rule", "nl", "--theta1", "0", "0", "--theta2", "0"],
    ["stability", "--game", "ipd", "--rule", "nl", "--theta1", "0", "--theta2", "0",
     "--exact-threshold"],
    ["nash-report", "--include", "repeated"],
    ["cache"],
    ["cache", "purge"],
])
def test_bad_arguments_give_one_line_and_exit_code_2(argv, capsys):
    assert exit_code(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and "Traceback" not in "\n".join(err)
    assert err[-1].startswith("lola-sym") and ": error: " in err[-1]
    if argv:                                   # argparse adds a usage line; UsageError does not
        assert err[-1].startswith(f"lola-sym {argv[0]}: error: ")


HOLA_TRAIN = ["train", "--game", "tandem", "--rule", "hola", "--runs", "2", "--steps", "2"]


@pytest.mark.parametrize("argv, words", [
    # out of the rule's declared bounds (SOS's a, b in (0, 1); rates >= 0)
    (["train", "--game", "tandem", "--rule", "sos", "--hyper", "a=1"], ["--hyper", "(0, 1)"]),
    (["train", "--game", "tandem", "--rule", "lola", "--eta", "-1"], ["--eta", "[0, inf)"]),
    (["compare", "--game", "tandem", "--rules", "nl", "sos:b=0"], ["--rules sos:b", "(0, 1)"]),
    (["tournament", "--rules", "nl", "sos:a=2"], ["--rules sos:a", "(0, 1)"]),
    (["stability", "--game", "tandem", "--rule", "co", "--theta1", "0", "--theta2", "0",
      "--hyper", "gamma=-3"], ["--hyper", "gamma"]),
    (["derive", "--game", "matching_pennies", "--rule", "lola", "--eta", "-1"], ["--eta"]),
    (["derive", "--game", "matching_pennies", "--rule", "sos", "--hyper", "a=5"], ["(0, 1)"]),
    (["derive", "--game", "matching_pennies", "--rule", "co", "--hyper", "gamma=-3"],
     ["gamma", "[0, inf)"]),
    # programs too large to derive, refused before deriving (rule.check_size)
    (HOLA_TRAIN + ["--order", "99"], ["--order", "program steps"]),
    (["compare", "--game", "tandem", "--rules", "hola:order=99"], ["--rules hola", "steps"]),
    (["tournament", "--rules", "nl", "hola:order=60"], ["--rules hola", "program steps"]),
    (["fixed-points", "--game", "tandem", "--rule", "hola", "--order", "99"], ["--order"]),
    (["stability", "--game", "tandem", "--rule", "hola", "--order", "99", "--theta1", "0",
      "--theta2", "0"], ["--order", "program steps"]),
    (["derive", "--game", "tandem", "--rule", "hola", "--order", "99"], ["program steps"]),
    # a figure file named only by its extension (the message said "must end in .png")
    (["train", "--game", "tandem", "--rule", "nl", "--plot", "/tmp/x/.png"],
     ["--plot", "needs a name before its extension"]),
    (["compare", "--game", "tandem", "--plot", "figs/.PDF"], ["--plot", "figs/figure.PDF"]),
])
def test_arguments_refused_by_the_library_exit_2_before_running(argv, words, monkeypatch,
                                                               capsys):
    """Bounds, program sizes and file names are checked before anything is trained or
    derived; the library's refusal of them was exit code 1."""
    def must_not_run(*args, **kwargs):
        raise AssertionError("ran although the arguments are bad")
    from lola_sym.cli import commands as _cli_commands
    monkeypatch.setattr(_cli_commands, "train_in_chunks", must_not_run)
    for module in ("lola_sym.dynamics.compare", "lola_sym.dynamics.tournament"):   # names shadowed in lola_sym
        monkeypatch.setattr(sys.modules[module], "train", must_not_run)
    assert exit_code(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"lola-sym {argv[0]}: error: ") and "Traceback" not in str(err)
    assert all(w in err[-1] for w in words), err[-1]


def test_gamma_too_close_to_one_is_a_usage_error_naming_gamma(capsys):
    """A ValueError of the library while validating an argument (here the game's discount)
    maps to exit code 2, with the option named."""
    assert exit_code(["train", "--game", "ipd", "--rule", "nl", "--gamma", "0.999999999"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lola-sym train: error: --gamma: ") and err.count("\n") == 1


def _overflow():
    with np.errstate(over="warn"):          # a RuntimeWarning, an exception under -W error
        return np.float64(1e308) * np.float64(10.0)


def _floating_point_error():
    with np.errstate(over="raise"):
        return np.float64(1e308) * np.float64(10.0)


def _raise(exc):
    def fail():
        raise exc
    return fail


@pytest.mark.parametrize("fail", [
    _overflow,
    lambda: warnings.warn("something odd", UserWarning),
    _floating_point_error,
    _raise(OverflowError("int too large to convert to float")),
    _raise(ValueError("delta=1e308 overflows the parameters")),
], ids=["RuntimeWarning", "UserWarning", "FloatingPointError", "OverflowError", "ValueError"])
def test_failures_while_running_exit_1_in_one_line_under_warnings_as_errors(fail, monkeypatch,
                                                                             capsys):
    """python -W error::RuntimeWarning (or PYTHONWARNINGS=error) turns numpy's overflow
    warnings into exceptions: they, ArithmeticError (FloatingPointError, OverflowError) and the
    library's ValueError while running are one line and exit code 1, never a traceback."""
    from lola_sym.cli import commands as _cli_commands

    def failing(*args, **kwargs):
        fail()
        raise AssertionError("expected a failure")
    monkeypatch.setattr(_cli_commands, "train_in_chunks", failing)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["train", "--game", "tandem", "--rule", "nl"]) == 1
    assert_one_line_error(capsys, "train")


def test_warnings_of_a_successful_run_are_one_line_each(monkeypatch, capsys):
    from lola_sym.cli import commands as _cli_commands
    real = _cli_commands.train_in_chunks

    def noisy(*args, **kwargs):
        _overflow()
        _overflow()                         # the same warning twice: one line
        return real(*args, **kwargs)
    monkeypatch.setattr(_cli_commands, "train_in_chunks", noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("default")    # as outside the test suite, which makes them errors
        assert main(["train", "--game", "tandem", "--rule", "nl", "--runs", "2", "--steps",
                     "2"]) == 0
    err = capsys.readouterr().err
    assert err == "lola-sym train: warning: RuntimeWarning: overflow encountered in scalar " \
                  "multiply\n", err


def test_every_run_diverged_is_said_not_printed_as_nan(capsys):
    """All runs diverged: no '+nan (nan)'; the text says so, and a one-line note on stderr
    names the undefined results (null in JSON)."""
    argv = ["train", "--game", "balduzzi", "--rule", "nl", "--runs", "2", "--steps", "10"]
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert "nan" not in cap.out and "agent 1 (nl): undefined (every run diverged)" in cap.out
    note = cap.err.strip().splitlines()
    assert len(note) == 1 and note[0].startswith("lola-sym train: note: 4 results undefined")
    assert "reward_mean[0]" in note[0] and "all 2 runs diverged" in note[0]
    assert main(["compare", "--game", "balduzzi", "--rules", "nl", "--runs", "2", "--steps",
                 "10"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lola-sym compare: note: ")
    assert "outcomes[0].r1_mean" in err[0]
    assert main(["train", "--game", "tandem", "--rule", "nl", "--runs", "2", "--steps", "2"]) == 0
    assert capsys.readouterr().err == ""                  # nothing undefined: no note


def test_sos_tandem_when_every_run_diverges(capsys):
    assert main(["reproduce", "sos-tandem", "--runs", "2", "--steps", "30", "--delta",
                 "100"]) == 0
    cap = capsys.readouterr()
    assert "nan" not in cap.out and "undefined (every run diverged)" in cap.out
    assert cap.err.startswith("lola-sym reproduce: note: ") and cap.err.count("\n") == 1


def test_tournament_takes_holas_order(capsys):
    """HOLA's structural option reaches the tournament, shared (--order, --hyper order=1) or
    per rule (hola:order=1); it was refused as 'no hyper-parameter order'."""
    base = ["tournament", "--rules", "nl", "hola", "--runs", "2", "--steps", "2"]
    shared = run_json(base + ["--hyper", "order=1"], capsys)
    assert shared["hyper"]["hola"] == {"eta": 1.0, "order": 1}
    assert run_json(base + ["--order", "1"], capsys)["pairs"] == shared["pairs"]
    own = run_json(["tournament", "--rules", "nl", "hola:order=1", "--runs", "2", "--steps", "2"],
                   capsys)
    assert own["pairs"] == shared["pairs"]


def test_derive_refuses_a_page_that_would_take_minutes():
    """HOLA of order 8 on Tandem with eta symbolic: the exact Jacobian at theta = 0 is of
    degree 510 in eta (update_field takes 5 s, the page did not finish in 200 s). Refused at
    once with the estimate and what to change; with eta given it is written."""
    cmd = [sys.executable, "-m", "lola_sym.cli", "derive", "--game", "tandem", "--rule", "hola",
           "--order", "8"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stdout == "" and out.stderr.count("\n") == 1
    assert "would take about" in out.stderr and "eta=1/2" in out.stderr
    assert "smaller order" in out.stderr and time.perf_counter() - t0 < 60
    ok = subprocess.run(cmd + ["--eta", "1/2", "--json"], capture_output=True, text=True,
                        timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["options"] == {"order": 8}


def test_help_says_missing_directories_are_created(capsys):
    assert exit_code(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert text.count("missing parent directories are created") == 2      # --out and --plot


def test_output_and_figure_create_missing_directories(tmp_path, capsys):
    out, png = tmp_path / "a" / "b" / "train.json", tmp_path / "c" / "d" / "curves.png"
    assert main(["train", "--game", "tandem", "--rule", "nl", "--runs", "2", "--steps", "2",
                 "--json", "--out", str(out), "--plot", str(png)]) == 0
    assert json.loads(out.read_text())["runs"] == 2 and png.read_bytes()[:8] == PNG_MAGIC


def test_library_errors_exit_1_without_traceback(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["derive", "--rule", "nl", "--rule-page", "--out",
                 str(blocker / "page.md")]) == 1
    assert_one_line_error(capsys, "derive")


# -------------------------------------------------------- installed executable
def _executable():
    found = shutil.which("lola-sym") or str(Path(sys.executable).with_name("lola-sym"))
    if not os.access(found, os.X_OK):
        pytest.skip("the lola-sym console script is not installed (pip install -e .)")
    return found


def test_installed_executable_json_and_exit_codes():
    exe = _executable()
    ok = subprocess.run([exe, "train", "--game", "matching_pennies", "--rule", "lola",
                         "--runs", "2", "--steps", "3", "--seed", "1", "--json"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["runs"] == 2 and ok.stderr == ""
    bad = subprocess.run([exe, "train", "--game", "ipd", "--rule", "lola", "--hyper", "eta"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("lola-sym train: error: ")
    fail = subprocess.run([exe, "train", "--game", "balduzzi", "--rule", "nl", "--runs", "2",
                           "--steps", "10", "--on-divergence", "raise"],
                          capture_output=True, text=True)
    assert fail.returncode == 1 and fail.stdout == ""
    assert fail.stderr.count("\n") == 1 and "diverged at update 5" in fail.stderr


def test_console_script_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "lola_sym.cli", "--help"], capture_output=True,
                         text=True, check=True)
    assert "reproduce" in out.stdout and "fixed-points" in out.stdout
    usage = subprocess.run([sys.executable, "-m", "lola_sym.cli", "train", "--game", "tandem",
                            "--rule", "nl", "--gamma", "0.5"], capture_output=True, text=True)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


# ------------------------------------------------------------------ module structure
def _imported_modules(module) -> set:
    """Every lola_sym module ``module`` imports, at the top or inside a function."""
    import ast
    import importlib
    tree = ast.parse(Path(importlib.import_module(module).__file__).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("lola_sym")}


@pytest.mark.parametrize("module", ["commands", "analysis_commands", "options", "arguments",
                                    "support"])
def test_the_commands_do_not_import_the_entry_point(module):
    """The entry point (lola_sym.cli) imports its command modules when a command runs; none
    of them imports it back (UsageError lives in cli.support, re-exported by cli)."""
    import lola_sym.cli as cli
    from lola_sym.cli import support
    assert "lola_sym.cli" not in _imported_modules(f"lola_sym.cli.{module}")
    assert "lola_sym.cli.options" in _imported_modules("lola_sym.cli.analysis_commands")  # can fail
    assert cli.UsageError is support.UsageError


def test_every_runner_of_the_parser_exists():
    """Each subcommand's runner (looked up by name when it runs) is a function of its module."""
    import importlib
    from lola_sym.cli import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        run = p.get_default("func")
        assert callable(run), name
        if hasattr(run, "module"):             # looked up when the command runs
            module = importlib.import_module(f"lola_sym.cli.{run.module}")
            assert callable(getattr(module, run.runner)), name


# ------------------------------------------------- repeated games: players, cf, memory
def test_train_contribution_game_with_three_players(capsys):
    """--players 3 --cf 1.33 is games.contribution(3, "1.33"), every agent on --rule."""
    out = run_json(["train", "--game", "contribution", "--players", "3", "--cf", "1.33",
                    "--rule", "nl", "--runs", "3", "--steps", "2", "--seed", "4"], capsys)
    tr = train(games.contribution(3, "1.33"), "nl", runs=3, steps=2, seed=4)
    assert out["game"] == tr.game.name == "contribution (n=3, cf=133/100)"
    assert out["rules"] == ["nl"] * 3 and len(out["reward_mean"]) == 3
    assert [np.shape(t) for t in out["final_thetas"]] == [(3, 9)] * 3
    assert "final_theta1" not in out and len(out["policy_mean"]) == 3
    np.testing.assert_array_equal(np.array(out["final_reward"]), tr.final_reward)
    assert main(["train", "--game", "contribution", "--players", "3", "--cf", "1.33", "--rule",
                 "nl", "--runs", "3", "--steps", "2"]) == 0
    text = capsys.readouterr().out
    assert "nl vs nl vs nl" in text and "agent 3 (nl)" in text and "CCC" in text


@pytest.mark.parametrize("argv, want", [
    (["--game", "ipd", "--memory", "2"], lambda: games.ipd_memory2()),
    (["--game", "ipd", "--memory", "2", "--gamma", "0.9"], lambda: games.ipd_memory2("0.9")),
    (["--game", "ipd", "--memory", "1"], lambda: games.ipd()),
    (["--game", "rps", "--memory", "0"], lambda: games.rps(memory=0)),
    (["--game", "contribution", "--players", "4", "--cf", "2"],
     lambda: games.contribution(4, 2)),
    (["--game", "three_player_ipd", "--players", "3"], lambda: games.three_player_ipd()),
])
def test_game_options_build_the_catalogue_game(argv, want):
    """--game with --memory/--players/--cf/--gamma is the catalogue constructor's game; a 2x2
    iterated game with another memory is the repeated game of its payoffs."""
    from lola_sym.cli.options import game_of
    got = game_of(build_parser().parse_args(["train", *argv, "--rule", "nl"]))
    assert got.spec() == want().spec() and got.name == want().name


@pytest.mark.slow
def test_train_ipd_with_memory_two(capsys):
    """The memory-2 IPD from the command line (21 logits per agent); compiles its NL field."""
    out = run_json(["train", "--game", "ipd", "--memory", "2", "--rule", "nl", "--runs", "2",
                    "--steps", "2"], capsys)
    tr = train(games.ipd_memory2(), "nl", runs=2, steps=2)
    assert out["game"] == "IPD (memory 2)" and np.shape(out["final_theta1"]) == (2, 21)
    np.testing.assert_array_equal(np.array(out["final_theta2"]), tr.theta2[-1])


@pytest.mark.parametrize("argv, n, dims", [
    (["--game", "ipd", "--memory", "0"], 2, 1),
    (["--game", "rps", "--memory", "0"], 2, 2),
    (["--game", "three_player_ipd", "--memory", "0", "--gamma", "0.9"], 3, 1),
    (["--game", "contribution", "--players", "4", "--memory", "0"], 4, 1),
])
def test_train_and_compare_take_repeated_games(argv, n, dims, capsys):
    out = run_json(["train", *argv, "--rule", "lola", "--eta", "0.5", "--runs", "2",
                    "--steps", "2"], capsys)
    assert len(out["reward_mean"]) == n and np.shape(out["final_thetas"]) == (n, 2, dims)
    cmp_ = run_json(["compare", *argv, "--rules", "nl", "lola", "--runs", "2", "--steps", "2"],
                    capsys)
    assert [len(o["reward_mean"]) for o in cmp_["outcomes"]] == [n, n]


def test_compare_three_players_defaults_to_the_n_player_rules(capsys):
    from lola_sym.dynamics.compare import default_rules
    out = run_json(["compare", "--game", "contribution", "--memory", "0", "--runs", "2",
                    "--steps", "2"], capsys)
    g = games.contribution(memory=0)
    assert [o["rule"] for o in out["outcomes"]] == list(default_rules(g)) != []
    assert out["target"] is None


@pytest.mark.parametrize("argv, words", [
    (["train", "--game", "contribution", "--players", "6", "--rule", "nl"],
     ["argument --players", "2 to 5"]),
    (["train", "--game", "contribution", "--players", "1", "--rule", "nl"], ["--players"]),
    (["train", "--game", "contribution", "--players", "2.5", "--rule", "nl"], ["--players"]),
    (["train", "--game", "ipd", "--memory", "3", "--rule", "nl"], ["argument --memory", "0 to 2"]),
    (["train", "--game", "ipd", "--memory", "-1", "--rule", "nl"], ["--memory"]),
    (["train", "--game", "contribution", "--cf", "0", "--rule", "nl"], ["--cf", "positive"]),
    (["train", "--game", "ipd", "--players", "3", "--rule", "nl"], ["--players 3", "2 players"]),
    (["train", "--game", "three_player_ipd", "--players", "4", "--rule", "nl"],
     ["--players 4", "3 players"]),
    (["train", "--game", "ipd", "--cf", "2", "--rule", "nl"], ["--cf", "contribution"]),
    (["train", "--game", "tandem", "--memory", "1", "--rule", "nl"], ["--memory", "one-shot"]),
    (["train", "--game", "ipd_memory2", "--memory", "1", "--rule", "nl"],
     ["--memory 1", "has memory 2"]),
    (["train", "--game", "contribution", "--rule", "sos"],
     ["--rule", "'sos' needs exactly two players"]),
    (["train", "--game", "contribution", "--rule", "nl", "--rule2", "lola"],
     ["--rule2", "3-player"]),
    (["compare", "--game", "contribution", "--rules", "nl", "cgd"],
     ["--rules cgd", "needs exactly two players"]),
    (["compare", "--game", "contribution", "--target", "tft"], ["'tft'", "two-player"]),
    (["tournament", "--memory", "2"], ["memory-1", "IPD (memory 2)"]),
    (["fixed-points", "--game", "three_player_ipd", "--rule", "cgd"],
     ["needs exactly two players"]),
    (["stability", "--game", "contribution", "--rule", "nl", "--theta1", "0", "--theta2", "0"],
     ["3 players", "--theta3"]),
    (["stability", "--game", "rps", "--rule", "nl", "--theta1", "0", "--theta2", "0",
      "--exact-threshold"], ["--exact-threshold", "one-shot"]),
    (["fixed-points", "--game", "ipd", "--memory", "0", "--rule", "nl", "--exact"],
     ["--exact", "one-shot"]),
])
def test_games_a_command_cannot_take_exit_2(argv, words, monkeypatch, capsys):
    """Bad --players/--memory/--cf values and games outside a command's reach are usage errors,
    refused in one line before anything is compiled or trained."""
    def must_not_run(*args, **kwargs):
        raise AssertionError("ran although the arguments are bad")
    from lola_sym.cli import commands as _cli_commands
    monkeypatch.setattr(_cli_commands, "update_field", must_not_run, raising=False)
    monkeypatch.setattr(_cli_commands, "train_in_chunks", must_not_run)
    for module in ("lola_sym.dynamics.compare", "lola_sym.dynamics.tournament"):
        monkeypatch.setattr(sys.modules[module], "train", must_not_run)
    assert exit_code(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"lola-sym {argv[0]}: error: ") and "Traceback" not in str(err)
    assert all(w in err[-1] for w in words), err[-1]


def test_games_above_the_symbolic_limit_run_on_the_adjoint_path(capsys):
    """RPS with memory-2 policies (81 chain states) trains through the sparse adjoint path,
    equal to lola_sym.train on the same game; a rule without an adjoint form is one clear
    usage error."""
    out = run_json(["train", "--game", "rps", "--memory", "2", "--rule", "nl", "--runs", "2",
                    "--steps", "2"], capsys)
    game = games.rps(memory=2)
    assert game.field_path == "adjoint"
    tr = train(game, "nl", runs=2, steps=2, seed=0)
    np.testing.assert_allclose(out["final_reward"], tr.final_reward, rtol=1e-12)
    assert exit_code(["train", "--game", "rps", "--memory", "2", "--rule", "sos"]) == 2
    assert "no adjoint form" in capsys.readouterr().err


def test_stability_and_fixed_points_of_a_three_player_game(capsys):
    """stability takes one --thetaK per player and gives classify's eigenvalues; fixed-points
    prints every player's coordinates; a missing or extra player's point is a usage error."""
    from lola_sym import classify
    argv = ["--game", "contribution", "--players", "3", "--cf", "1.5", "--memory", "0",
            "--rule", "lola", "--eta", "1/2"]
    out = run_json(["stability", *argv, "--theta1", "0.3", "--theta2", "-0.2", "--theta3",
                    "1"], capsys)
    want = classify(games.contribution(3, "1.5", memory=0), "lola", [0.3], [-0.2], [1.0],
                    eta=0.5)
    got = sorted((complex(*z) for z in out["eigenvalues"]), key=lambda z: (z.real, z.imag))
    ref = sorted(want.eigenvalues, key=lambda z: (z.real, z.imag))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)
    assert out["theta3"] == [1.0] and out["residual"] == want.residual
    pts = run_json(["fixed-points", *argv, "--starts", "3"], capsys)["points"]
    assert pts and all("theta3" in p for p in pts)
    assert exit_code(["stability", *argv, "--theta1", "0", "--theta2", "0"]) == 2
    assert_one_line_error(capsys, "stability")
    assert exit_code(["stability", "--game", "ipd", "--rule", "nl", "--theta1", "0",
                      "--theta2", "0", "--theta3", "0"]) == 2
    assert_one_line_error(capsys, "stability")


@pytest.mark.slow
def test_derive_a_repeated_game_page(capsys):
    """derive writes the page of a repeated game of another shape (RPS, 3 actions): the same
    text as the committed derivation page."""
    from pathlib import Path
    out = run_json(["derive", "--game", "rps", "--rule", "nl"], capsys)["markdown"]
    page = Path(__file__).resolve().parents[1] / "derivations" / "games" / "rps_nl.md"
    assert out == page.read_text()


def test_reproduce_the_coin_game_in_a_reduced_setting(capsys, tmp_path):
    """reproduce coin-game (2 runs x 4 updates): the JSON is the reproduction function's own
    result with the same seed, and --plot writes the figure."""
    from lola_sym.report.coin_game import coin_game_reproduction
    fig = tmp_path / "coin.png"
    out = run_json(["reproduce", "coin-game", "--runs", "2", "--steps", "4", "--plot",
                    str(fig)], capsys)
    want = coin_game_reproduction(runs=2, steps=4, delta=30.0, eta=1000.0, seed=0).as_dict()
    assert out["paper"] == "coin-game"
    assert json.loads(json.dumps(want, default=float)) == {
        k: v for k, v in out.items() if k != "paper"}
    assert fig.stat().st_size > 0


def test_version_flag_prints_the_installed_version(capsys):
    """``lola-sym --version`` prints the installed metadata's version, which is the source's."""
    from importlib.metadata import version

    from lola_sym._version import __version__
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out == f"lola-sym {version('lola_sym')}"
    assert version("lola_sym") == __version__, "pyproject's version and lola_sym/_version.py differ"


@pytest.mark.parametrize("name", [
    "coin-estimators", "matching-pennies-ns", "letcher-cycles", "stackelberg-bimatrix",
    *(pytest.param(n, marks=pytest.mark.slow) for n in ("ipd-chaos", "pola-ipd", "mfos-grid"))])
def test_reproduce_report_modules_reduced(name, capsys, tmp_path):
    """The report-module reproductions run reduced, emit JSON with their rows and draw."""
    from lola_sym.cli.reports import REPORTS
    fig = tmp_path / "fig.png"
    out = run_json(["reproduce", name, "--reduced", "--plot", str(fig)], capsys)
    assert out["paper"] == name and out["wall_seconds"] > 0
    assert fig.stat().st_size > 10_000
    assert set(out) > {"paper", "wall_seconds"} and REPORTS[name].title


def test_every_report_module_reproduction_is_tested_here():
    """Each entry of the reproduce table appears in the parametrisation above."""
    from lola_sym.cli.reports import REPORTS
    params = test_reproduce_report_modules_reduced.pytestmark[0].args[1]
    names = {p if isinstance(p, str) else p.values[0] for p in params}
    assert names == set(REPORTS)


def test_published_runs_the_functions_own_defaults(capsys, monkeypatch):
    """--published calls mfos-grid's function with no settings (its defaults are M-FOS's:
    MAMAML 1,000 iterations at batch 8,192), the command's default with its smaller MAMAML;
    the report function is replaced by a recorder, so nothing is trained."""
    from lola_sym.cli import reports
    from lola_sym.dynamics.meta import MFOS_MAMAML
    from lola_sym.report import mfos_grid
    seen = []

    class Done:
        def format_table(self):
            return "done"

        def as_dict(self):
            return {}

    def record(**kwargs):
        seen.append(kwargs)
        return Done()
    monkeypatch.setattr(mfos_grid, "mfos_grid_reproduction", record)
    assert main(["reproduce", "mfos-grid", "--published"]) == 0
    assert main(["reproduce", "mfos-grid"]) == 0
    capsys.readouterr()
    assert set(seen[0]) == {"progress"}
    assert seen[1]["mamaml_options"]["iterations"] == 100
    assert mfos_grid.DEFAULTS["mamaml_options"] == MFOS_MAMAML
    assert MFOS_MAMAML["iterations"] == 1000 and MFOS_MAMAML["batch"] == 8192
    assert reports.REPORTS["mfos-grid"].published
    assert main(["reproduce", "mfos-grid", "--published", "--reduced"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["reproduce", "pola-ipd", "--published"]) == 2
    assert "runs the published settings by default" in capsys.readouterr().err
    assert main(["reproduce", "lola2018", "--published"]) == 2
    assert "applies to mfos-grid" in capsys.readouterr().err


def test_reproduce_report_refuses_options_it_does_not_take(capsys):
    assert main(["reproduce", "matching-pennies-ns", "--runs", "3"]) == 2
    assert "does not take --runs" in capsys.readouterr().err
    assert main(["reproduce", "lola2018", "--reduced"]) == 2
    assert "--reduced applies to" in capsys.readouterr().err
