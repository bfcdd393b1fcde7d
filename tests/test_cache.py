"""Tests of lola_sym.compile.cache: reuse across processes, misses, corruption, tampering, unusable
directories, concurrent writers, the size cap and private temporary directories."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import lola_sym
from lola_sym import games
from lola_sym.compile import cache
from lola_sym.field import forget_compiled, update_field

PROBE = """
import json, numpy as np, lola_sym as ls
f = ls.update_field(ls.games.{game}(), "{rule}", backend="{backend}")
d1, d2 = f.game.dims
g1, g2 = f(np.linspace(-1, 1, d1), np.linspace(2, -2, d2))
print(json.dumps({{"from_cache": f.from_cache, "g": np.r_[g1, g2].tolist(),
                  "package": ls.__file__}}))
"""


def _env(cache_dir, extra_env=None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOLA_SYM_")}
    return {**env, "LOLA_SYM_CACHE_DIR": str(cache_dir), **(extra_env or {})}


def _run(tmp_path, game="ipd", rule="nl", extra_env=None, backend="llvm"):
    """Run :data:`PROBE` in a fresh interpreter (working directory ``tmp_path``, so that the
    package comes from ``PYTHONPATH`` or the installation, never from the current directory)."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(game=game, rule=rule,
                                                             backend=backend)],
                         env=_env(tmp_path, extra_env), cwd=tmp_path, capture_output=True,
                         text=True, check=True)
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
    assert base != cache.cache_key(_spec(games.ipd()), "nl", (), "llvm", v)
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
    forget_compiled()


def _spec(game) -> dict:
    """The spec a game's code is cached under: its family's, when it belongs to one."""
    family = game.family() if hasattr(game, "family") else None
    return (family[0] if family is not None else game).spec()


def _fresh_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("LOLA_SYM_CACHE_DIR", str(tmp_path))
    forget_compiled()
    f = update_field(games.imp(), "nl", backend="llvm")
    assert not f.from_cache
    forget_compiled()
    key = cache.cache_key(_spec(games.imp()), "nl", (), "llvm")
    return tmp_path / f"{key}.entry", key


def _expect_rebuild(monkeypatch, match):
    forget_compiled()
    with pytest.warns(cache.CacheWarning, match=match):
        f = update_field(games.imp(), "nl", backend="llvm")
    assert not f.from_cache
    t = np.linspace(-1, 1, 5)
    ref = update_field(games.imp(), "nl", backend="numpy")(t, -t)
    assert all(np.allclose(a, b, rtol=1e-12) for a, b in zip(f(t, -t), ref))
    forget_compiled()


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
    other = cache.cache_key(_spec(games.imp()), "nl", (), "llvm", {"lola_sym": "old"})
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
    forget_compiled()
    update_field(games.stag_hunt(), "nl", backend="llvm")
    assert not list(tmp_path.glob("*.entry"))
    forget_compiled()


def test_clear_and_roundtrip_of_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("LOLA_SYM_CACHE_DIR", str(tmp_path))
    cache.store("k" * 64, {"a": b"\x00\x01", "b": [1, 2.5, "x"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.load("k" * 64) == {"a": b"\x00\x01", "b": [1, 2.5, "x"]}
    assert cache.clear() == 1 and cache.load("k" * 64) is None


# ------------------------------------------------------------- the MAC binds the key
@pytest.mark.parametrize("forge_header", [False, True])
def test_entry_moved_to_another_key_is_rejected(tmp_path, monkeypatch, forge_header):
    """A valid IPD entry under Tandem's file name, its header's key rewritten or not, is not
    served for Tandem (the MAC covers the key, recomputed from the request)."""
    monkeypatch.setenv("LOLA_SYM_CACHE_DIR", str(tmp_path))
    forget_compiled()
    update_field(games.ipd(), "nl", backend="llvm")
    key_ipd = cache.cache_key(_spec(games.ipd()), "nl", (), "llvm")
    key_stag = cache.cache_key(_spec(games.tandem()), "nl", (), "llvm")
    head, _, body = (tmp_path / f"{key_ipd}.entry").read_bytes().partition(b"\n")
    if forge_header:                        # what anyone can do without the secret
        header = json.loads(head)
        header["key"] = key_stag
        head = json.dumps(header).encode()
    (tmp_path / f"{key_stag}.entry").write_bytes(head + b"\n" + body)
    forget_compiled()
    with pytest.warns(cache.CacheWarning, match="integrity" if forge_header else "stale"):
        f = update_field(games.tandem(), "nl", backend="llvm")
    assert not f.from_cache
    t1, t2 = np.linspace(-1, 1, 5)[:, None], np.linspace(2, -2, 5)[:, None]
    ref = update_field(games.tandem(), "nl", backend="numpy")(t1, t2)
    assert all(np.allclose(a, b, rtol=1e-12) for a, b in zip(f(t1, t2), ref))
    forget_compiled()


# -------------------------------------------------------- the source is part of the key
def test_source_digest_is_in_the_key():
    digest = cache.source_digest()
    assert len(digest) == 64 and cache.versions()["source"] == digest
    assert cache.source_digest() is digest               # computed once per process


def _copy_package(where: Path) -> dict:
    """A copy of the package under ``where`` (a stable source while others edit the tree),
    as the environment that runs it."""
    shutil.copytree(Path(lola_sym.__file__).parent, where / "lola_sym",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return {"PYTHONPATH": str(where)}


def test_edited_package_source_is_not_served_from_the_cache(tmp_path):
    """Edit the naive rule in a copy of the package (outputs doubled): the copy must compile
    anew, not reuse the unedited package's binary, and give twice the gradient."""
    store = tmp_path / "cache"
    store.mkdir()
    original = _copy_package(tmp_path / "original")
    before, _ = _run(store, backend="c", extra_env=original)
    again, _ = _run(store, backend="c", extra_env=original)
    assert not before["from_cache"] and again["from_cache"]
    edited_env = _copy_package(tmp_path / "edited")
    naive = tmp_path / "edited" / "lola_sym" / "rules" / "naive.py"
    old = "for g in G[(i, i)]])"
    assert old in naive.read_text()
    naive.write_text(naive.read_text().replace(old, "for g in G[(i, i)]] * 0 + [2 * g for i in "
                                                    "range(1, len(game.theta) + 1) for g in "
                                                    "G[(i, i)]])"))
    edited, _ = _run(store, backend="c", extra_env=edited_env)
    assert Path(edited["package"]).parent == naive.parent.parent       # the edited copy ran
    assert not edited["from_cache"]
    np.testing.assert_allclose(edited["g"], 2 * np.array(before["g"]), rtol=1e-12)


# ----------------------------------------------------- unusable cache directories
def _unusable(tmp_path, how) -> Path:
    """A cache directory that cannot be used as it is, made in a way that stops root too."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    if how == "cache is a file":
        return blocker
    if how == "parent is a file":
        return blocker / "cache"
    root = tmp_path / "cache"
    root.mkdir()
    if how == "lib is a file":
        (root / "lib").write_text("not a directory")
    elif how == "secret is a directory":
        (root / "secret.key").mkdir()
    return root


@pytest.mark.parametrize("backend", ["c", "llvm"])
@pytest.mark.parametrize("how", ["cache is a file", "parent is a file", "lib is a file",
                                 "secret is a directory"])
def test_unusable_directory_warns_once_and_falls_back(tmp_path, monkeypatch, how, backend):
    root = _unusable(tmp_path, how)
    monkeypatch.setenv("LOLA_SYM_CACHE_DIR", str(root))
    private = tmp_path / "private"
    private.mkdir()
    monkeypatch.setattr(cache, "private_dir", lambda: private, raising=False)     # this test's own
    forget_compiled()
    t = np.linspace(-1, 1, 3)[:, None]                   # three points
    reused = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for rule in ("nl", "lola", "nl"):               # two fields, one of them twice
            forget_compiled()
            f = update_field(games.matching_pennies(), rule, backend=backend)
            ref = update_field(games.matching_pennies(), rule, backend="numpy")
            reused.append(f.from_cache)
            assert all(np.allclose(a, b, rtol=1e-12) for a, b in zip(f(t, -t), ref(t, -t)))
    assert reused == [False, False, True]               # kept in the private directory
    assert len(list(private.glob("cache/*.entry"))) == 2
    ours = [w for w in seen if issubclass(w.category, cache.CacheWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    assert str(root) in str(ours[0].message) and "temporary" in str(ours[0].message)
    forget_compiled()


def test_entry_path_that_is_a_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("LOLA_SYM_CACHE_DIR", str(tmp_path))
    key = cache.cache_key(_spec(games.tandem()), "nl", (), "c")
    (tmp_path / f"{key}.entry").mkdir()
    forget_compiled()
    with pytest.warns(cache.CacheWarning):
        f = update_field(games.tandem(), "nl", backend="c")
    assert not f.from_cache and f(np.ones(1), np.ones(1))[0].shape == (1,)
    forget_compiled()
    with warnings.catch_warnings():                     # the same cause: no second warning
        warnings.simplefilter("error")
        assert not update_field(games.tandem(), "nl", backend="c").from_cache
    forget_compiled()


@contextlib.contextmanager
def _read_only(path):
    """Make ``path`` read-only for this process, also as root (immutable flag), or skip."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(0o755)
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(path)],
                                                    capture_output=True).returncode != 0:
        pytest.skip("cannot make a directory read-only for root here (no chattr +i)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("backend", ["c", "llvm"])
def test_read_only_directory_without_secret(tmp_path, monkeypatch, backend):
    root = tmp_path / "cache"
    root.mkdir()
    monkeypatch.setenv("LOLA_SYM_CACHE_DIR", str(root))
    private = tmp_path / "private"
    private.mkdir()
    monkeypatch.setattr(cache, "private_dir", lambda: private, raising=False)
    with _read_only(root):
        with pytest.raises(OSError):                    # really read-only
            (root / "probe").write_text("")
        forget_compiled()
        with pytest.warns(cache.CacheWarning, match="temporary"):
            f = update_field(games.tandem(), "lola", backend=backend)
        assert not f.from_cache and np.isfinite(f(np.ones(1), np.ones(1))[0]).all()
    assert not any(root.iterdir()) and len(list(private.glob("cache/*.entry"))) == 1
    forget_compiled()


def test_concurrent_processes_share_a_fresh_cache(tmp_path):
    """Two processes compiling the same entry at once both succeed, and leave an entry that a
    third process loads without any warning (one secret, one library)."""
    code = PROBE.format(game="ipd", rule="nl", backend="c")
    package = _copy_package(tmp_path / "src")
    for round_ in range(3):
        store = tmp_path / f"cache{round_}"
        env = _env(store, package)
        procs = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0 and "Traceback" not in err, err
        results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
        assert results[0]["g"] == results[1]["g"]
        third, err = _run(store, backend="c", extra_env=package)
        assert third["from_cache"] and "Warning" not in err, err
        assert third["g"] == results[0]["g"]


LEAK = """
import warnings, numpy as np, lola_sym as ls
warnings.simplefilter("ignore")
ls.update_field(ls.games.tandem(), "nl", backend="c")(np.ones(1), np.ones(1))
print(float(ls.consistency(ls.games.tandem(), "lola", np.zeros(1), np.zeros(1), eta=0.5)))
"""


@pytest.mark.parametrize("setting", ["no cache", "cache", "unusable cache"])
def test_no_private_directory_is_left_behind(tmp_path, setting):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    store = tmp_path / "cache"
    extra = {"TMPDIR": str(tmp)}
    if setting == "no cache":
        extra["LOLA_SYM_NO_CACHE"] = "1"
    elif setting == "unusable cache":
        store.write_text("a file, not a directory")
    out = subprocess.run([sys.executable, "-c", LEAK], env=_env(store, extra), cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert list(tmp.iterdir()) == []


# ------------------------------------------------------------------- the size cap
def _files(root) -> dict:
    return {p.relative_to(root).as_posix(): p.stat().st_size
            for p in [*root.glob("*.entry"), *root.glob("lib/*")]}


def test_size_cap_evicts_least_recently_used_entries_and_their_libraries(tmp_path,
                                                                          monkeypatch):
    """Entries of about 16.4 kB (a 16 kB library each) under a 40 kB cap: two fit. Using the
    oldest entry makes the other one the least recently used, evicted first."""
    monkeypatch.setenv("LOLA_SYM_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("LOLA_SYM_CACHE_MAX_MB", "0.04")
    names = ["tandem", "hamiltonian", "matching_pennies", "balduzzi"]
    key = {n: cache.cache_key(_spec(games.by_name(n)), "nl", (), "c") for n in names}

    def compile_(name):
        forget_compiled()
        f = update_field(games.by_name(name), "nl", backend="c")
        time.sleep(0.02)                                # distinct modification times
        return f

    def kept():
        return {n for n in names if (tmp_path / f"{key[n]}.entry").exists()}

    compile_("tandem")
    compile_("hamiltonian")
    assert kept() == {"tandem", "hamiltonian"}
    assert compile_("tandem").from_cache                # now hamiltonian is the LRU entry
    compile_("matching_pennies")
    assert kept() == {"tandem", "matching_pennies"}
    compile_("balduzzi")
    assert kept() == {"matching_pennies", "balduzzi"}
    files = _files(tmp_path)
    assert sum(files.values()) <= 40_000
    assert len([f for f in files if f.startswith("lib/")]) == 2     # no orphaned library
    assert compile_("balduzzi").from_cache and compile_("matching_pennies").from_cache
    assert cache.max_bytes() == 40_000
    forget_compiled()


@pytest.mark.parametrize("text", ["lots", "-1", "nan", "inf"])
def test_bad_cap_warns_and_uses_the_default(monkeypatch, text):
    monkeypatch.setenv("LOLA_SYM_CACHE_MAX_MB", text)
    with pytest.warns(cache.CacheWarning, match="LOLA_SYM_CACHE_MAX_MB"):
        assert cache.max_bytes() == cache.DEFAULT_MAX_MB * 10**6
