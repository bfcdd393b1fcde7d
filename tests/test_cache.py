"""Tests of lola_sym.cache: reuse across processes, misses, corruption, tampering."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from lola_sym import cache, games
from lola_sym.field import compiled_program, update_field

PROBE = """
import json, numpy as np, lola_sym as ls
f = ls.update_field(ls.games.{game}(), "{rule}", backend="llvm")
g1, g2 = f(np.linspace(-1, 1, 5), np.linspace(2, -2, 5))
print(json.dumps({{"from_cache": f.from_cache, "g": np.r_[g1, g2].tolist()}}))
"""


def _run(tmp_path, game="ipd", rule="nl", extra_env=None):
    env = {**os.environ, "LOLA_SYM_CACHE_DIR": str(tmp_path), **(extra_env or {})}
    out = subprocess.run([sys.executable, "-c", PROBE.format(game=game, rule=rule)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def test_second_process_reuses_the_entry_and_agrees(tmp_path):
    first, _ = _run(tmp_path)
    second, err = _run(tmp_path)
    assert not first["from_cache"] and second["from_cache"]
    assert first["g"] == second["g"]            # the very same machine code
    assert "CacheWarning" not in err
    assert len(list(tmp_path.glob("*.entry"))) == 1


def test_changed_game_rule_or_version_misses():
    v = cache.versions()
    base = cache.cache_key(games.ipd().spec(), "lola", ("eta",), "llvm", v)
    assert base != cache.cache_key(games.imp().spec(), "lola", ("eta",), "llvm", v)
    assert base != cache.cache_key(games.ipd().spec(), "nl", (), "llvm", v)
    assert base != cache.cache_key(games.ipd().spec(), "lola", ("eta",), "llvm",
                                   {**v, "lola_sym": "999"})
    assert base != cache.cache_key(games.ipd().spec(), "lola", ("eta",), "llvm",
                                   {**v, "sympy": "0.0"})
    renamed = games.iterated(games.ipd().R1, games.ipd().R2, games.ipd().gamma, "other name")
    assert base == cache.cache_key(renamed.spec(), "lola", ("eta",), "llvm", v)


def test_version_change_misses(tmp_path, monkeypatch):
    path, key = _fresh_entry(tmp_path, monkeypatch)
    original = cache.versions()
    monkeypatch.setattr(cache, "versions", lambda: {**original, "lola_sym": "999"})
    f = update_field(games.imp(), "nl", backend="llvm")
    assert not f.from_cache and path.exists()          # the old entry is left alone
    assert len(list(tmp_path.glob("*.entry"))) == 2
    compiled_program.cache_clear()


def _fresh_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("LOLA_SYM_CACHE_DIR", str(tmp_path))
    compiled_program.cache_clear()
    f = update_field(games.imp(), "nl", backend="llvm")
    assert not f.from_cache
    compiled_program.cache_clear()
    key = cache.cache_key(games.imp().spec(), "nl", (), "llvm")
    return tmp_path / f"{key}.entry", key


def _expect_rebuild(monkeypatch, match):
    compiled_program.cache_clear()
    with pytest.warns(cache.CacheWarning, match=match):
        f = update_field(games.imp(), "nl", backend="llvm")
    assert not f.from_cache
    t = np.linspace(-1, 1, 5)
    ref = update_field(games.imp(), "nl", backend="numpy")(t, -t)
    assert all(np.allclose(a, b, rtol=1e-12) for a, b in zip(f(t, -t), ref))
    compiled_program.cache_clear()


def test_truncated_entry_is_rebuilt_with_a_warning(tmp_path, monkeypatch):
    path, _ = _fresh_entry(tmp_path, monkeypatch)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _expect_rebuild(monkeypatch, "truncated")
    assert path.exists()                       # rewritten


def test_tampered_payload_fails_the_integrity_check(tmp_path, monkeypatch):
    path, _ = _fresh_entry(tmp_path, monkeypatch)
    head, _, body = path.read_bytes().partition(b"\n")
    doc = json.loads(body)
    code = doc["compiled"]["reduce"][8]["__bytes__"]
    doc["compiled"]["reduce"][8]["__bytes__"] = ("A" if code[0] != "A" else "B") + code[1:]
    new_body = json.dumps(doc, sort_keys=True).encode()
    header = json.loads(head)
    header["length"] = len(new_body)
    path.write_bytes(json.dumps(header).encode() + b"\n" + new_body)
    _expect_rebuild(monkeypatch, "integrity")


def test_entry_signed_under_another_secret_is_rejected(tmp_path, monkeypatch):
    path, _ = _fresh_entry(tmp_path, monkeypatch)
    (tmp_path / "secret.key").write_bytes(b"x" * 32)
    _expect_rebuild(monkeypatch, "integrity")


def test_stale_entry_under_a_wrong_name_is_rejected(tmp_path, monkeypatch):
    path, key = _fresh_entry(tmp_path, monkeypatch)
    other = cache.cache_key(games.imp().spec(), "nl", (), "llvm", {"lola_sym": "old"})
    # an entry written for another key, found under this key's name
    data = path.read_bytes().replace(key.encode(), other.encode(), 1)
    path.write_bytes(data)
    _expect_rebuild(monkeypatch, "stale")


def test_garbage_file_is_rejected(tmp_path, monkeypatch):
    path, _ = _fresh_entry(tmp_path, monkeypatch)
    path.write_bytes(b"\x00\xffnot json at all")
    _expect_rebuild(monkeypatch, "corrupt header")


def test_disabled_cache_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LOLA_SYM_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("LOLA_SYM_NO_CACHE", "1")
    compiled_program.cache_clear()
    update_field(games.stag_hunt(), "nl", backend="llvm")
    assert not list(tmp_path.glob("*.entry"))
    compiled_program.cache_clear()


def test_clear_and_roundtrip_of_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("LOLA_SYM_CACHE_DIR", str(tmp_path))
    cache.store("k" * 64, {"a": b"\x00\x01", "b": [1, 2.5, "x"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.load("k" * 64) == {"a": b"\x00\x01", "b": [1, 2.5, "x"]}
    assert cache.clear() == 1 and cache.load("k" * 64) is None
