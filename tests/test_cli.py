"""Tests of the lola-sym command line."""

import json
import subprocess
import sys

import pytest

from lola_sym.cli import main


def test_reproduce_json_parses(capsys):
    assert main(["reproduce", "lola2018", "--runs", "3", "--steps", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs"] == 3 and len(out["rows"]) == 6
    assert {"game", "setting", "r_mean", "paper_r_mean"} <= set(out["rows"][0])


def test_reproduce_table(capsys):
    assert main(["reproduce", "lola2018", "--runs", "2", "--steps", "1", "--games", "IMP"]) == 0
    out = capsys.readouterr().out
    assert "Nash dist" in out and "IMP" in out and "IPD" not in out.split("\n", 3)[3]


@pytest.mark.parametrize("argv", [
    ["reproduce", "lola2017"],
    ["reproduce", "lola2018", "--runs", "0"],
    ["reproduce", "lola2018", "--delta", "nan"],
    ["reproduce", "lola2018", "--eta", "-1"],
    [],
])
def test_bad_arguments_give_one_line_and_exit_code_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("lola-sym") and "Traceback" not in "\n".join(err)


def test_console_script_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "lola_sym.cli", "--help"], capture_output=True,
                         text=True, check=True)
    assert "reproduce" in out.stdout
