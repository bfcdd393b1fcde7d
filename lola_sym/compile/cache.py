r"""On-disk cache of compiled update maps.

What an entry holds
    One compiled program: a rule (or the values) on one game, for one backend.
    The llvm backend's machine code is in the entry itself; the c backend's
    entry names a shared library in ``lib/`` and records its SHA-256.

Keys
    The SHA-256 of the game's exact specification, what is compiled, its
    symbolic hyper-parameters, the backend, :data:`FORMAT` and
    :func:`versions`: Python, sympy, symengine, numpy, lola_sym, the CPU
    (native code is machine specific) and :func:`source_digest`, a digest of
    the package's own source, so that editing a rule never serves code
    derived from the old one.

Verification
    Each entry is one file: a JSON header line, then a JSON body. The header's
    MAC is an HMAC-SHA256 under a per-user secret (``secret.key``, mode 0600)
    of the format, the key *recomputed from the request* (never read from the
    file), the header's other fields and the body, so an entry renamed to
    another key, or with a forged header, is refused. Nothing is parsed beyond
    JSON, let alone executed, before the MAC verifies; a library is loaded
    only if it matches its recorded SHA-256. A truncated, tampered, stale or
    unreadable entry is reported with a :class:`CacheWarning` and rebuilt.
    Files are written atomically (temporary file + ``os.replace``), so
    processes may share the directory.

Size
    The cache is capped at ``$LOLA_SYM_CACHE_MAX_MB`` megabytes (10^6 bytes;
    default :data:`DEFAULT_MAX_MB`). A store that takes it over the cap evicts
    the least recently used entries (loading an entry touches it) with their
    libraries, and libraries no entry uses, down to :data:`LOW_WATER` of the
    cap. ``lola-sym cache clear`` (:func:`clear`) empties it.

Where
    ``$LOLA_SYM_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/lola_sym`` or
    ``~/.cache/lola_sym``; ``LOLA_SYM_NO_CACHE=1`` disables the cache. A
    directory that cannot be written (read-only, a file in the way, ...) gives
    one :class:`CacheWarning` per process and cause, and the process then uses
    a private temporary directory (:func:`private_dir`, removed at exit):
    compiled code still works, it is just not kept.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import hmac
import json
import math
import os
import platform
import re
import secrets
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from functools import lru_cache
from pathlib import Path

__all__ = ["cache_dir", "lib_dir", "location", "private_dir", "cache_key", "load", "store",
           "enabled", "CacheWarning", "FORMAT", "versions", "source_digest", "clear", "info",
           "max_bytes", "DEFAULT_MAX_MB", "LOW_WATER"]

#: Entry format version; part of every key and of what the MAC signs.
FORMAT = 3   # 3: MAC over format + key + header + body, source digest in the key, libs in header
#: Default size cap in megabytes (``$LOLA_SYM_CACHE_MAX_MB``). Measured: property tests
#: over 12,450 random games left 14,901 entries, 135 MB, in an uncapped cache.
DEFAULT_MAX_MB = 500
#: Eviction frees space down to this fraction of the cap, so that a full cache is not
#: rescanned (every entry's header read) at each store.
LOW_WATER = 0.9
#: Temporary files and unused libraries younger than this many seconds may belong to a
#: build in progress in another process; eviction leaves them alone.
GRACE_SECONDS = 600
_ENV_DIR = "LOLA_SYM_CACHE_DIR"
_ENV_OFF = "LOLA_SYM_NO_CACHE"
_ENV_MAX = "LOLA_SYM_CACHE_MAX_MB"
_MB = 10 ** 6
_DOMAIN = b"lola_sym.cache"           # what the MAC is of: a lola_sym cache entry
_KEY = re.compile(r"[0-9A-Za-z_-]{1,128}")
_FILE = re.compile(r"[0-9A-Za-z_-][0-9A-Za-z_.-]{0,127}")
_HEADER_MAX = 65536                   # bytes of a header line read when evicting


class CacheWarning(UserWarning):
    """A cache entry or directory could not be used; the code is rebuilt (and maybe not kept)."""


_warned: set = set()


def _warn_once(cause: tuple, message: str) -> None:
    """Warn with ``message`` unless ``cause`` was already reported by this process."""
    if cause in _warned:
        return
    _warned.add(cause)
    warnings.warn(message, CacheWarning, stacklevel=4)


def enabled() -> bool:
    """False when ``LOLA_SYM_NO_CACHE`` is set to a non-empty value other than 0.

    Examples
    --------
    >>> import os
    >>> enabled() == (os.environ.get("LOLA_SYM_NO_CACHE", "") in ("", "0"))
    True
    """
    return os.environ.get(_ENV_OFF, "") in ("", "0")


def cache_dir() -> Path:
    """The configured cache directory (not created; see :func:`location` for the one in use).

    Examples
    --------
    ``$LOLA_SYM_CACHE_DIR`` first, then ``$XDG_CACHE_HOME/lola_sym``, then
    ``~/.cache/lola_sym`` (the environment is patched here and restored after each
    ``with`` block):

    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"LOLA_SYM_CACHE_DIR": "/srv/cache/ls",
    ...                                   "XDG_CACHE_HOME": "/srv/xdg"}):
    ...     print(cache_dir().as_posix())
    /srv/cache/ls
    >>> with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": "/srv/xdg"}):
    ...     _ = os.environ.pop("LOLA_SYM_CACHE_DIR", None)
    ...     print(cache_dir().as_posix())
    ...     del os.environ["XDG_CACHE_HOME"]
    ...     cache_dir() == Path.home() / ".cache" / "lola_sym"
    /srv/xdg/lola_sym
    True
    """
    if os.environ.get(_ENV_DIR):
        return Path(os.environ[_ENV_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lola_sym"


def max_bytes() -> int:
    """The size cap in bytes: ``$LOLA_SYM_CACHE_MAX_MB`` megabytes (10^6 bytes) or the default.

    A value that is not a finite number >= 0 is ignored with a :class:`CacheWarning`.

    Examples
    --------
    >>> import os
    >>> os.environ.get("LOLA_SYM_CACHE_MAX_MB") is not None or max_bytes() == 500 * 10**6
    True
    """
    text = os.environ.get(_ENV_MAX, "").strip()
    if not text:
        return DEFAULT_MAX_MB * _MB
    try:
        mb = float(text)
    except ValueError:
        mb = math.nan
    if not (math.isfinite(mb) and mb >= 0):
        _warn_once(("cap", text), f"lola_sym cache: ignoring {_ENV_MAX}={text[:40]!r} (expected "
                                  f"megabytes, a number >= 0); using {DEFAULT_MAX_MB}")
        return DEFAULT_MAX_MB * _MB
    return int(mb * _MB)


@lru_cache(maxsize=None)
def _cpu() -> str:
    flags = ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    flags = line
                    break
    except OSError:
        pass
    return platform.machine() + ":" + hashlib.sha256(flags.encode()).hexdigest()[:16]


@lru_cache(maxsize=None)
def source_digest() -> str:
    """SHA-256 over the names and contents of every ``.py`` file of the imported package.

    Computed once per process. Part of every key: code compiled from one
    version of the derivations is never served to another (deriving the
    program to key it would defeat the cache, which exists to skip derivation).

    Examples
    --------
    >>> d = source_digest()
    >>> len(d), d == source_digest()
    (64, True)
    """
    root = Path(__file__).resolve().parents[1]          # the lola_sym package
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).as_posix()):
        data = path.read_bytes()
        name = path.relative_to(root).as_posix().encode()
        h.update(b"%d:%s%d:" % (len(name), name, len(data)))
        h.update(data)
    return h.hexdigest()


def versions() -> dict:
    """Versions that invalidate cached code when they change (and the package's source digest).

    Examples
    --------
    >>> sorted(versions())
    ['cpu', 'lola_sym', 'numpy', 'python', 'source', 'symengine', 'sympy']
    """
    import numpy
    import sympy

    from lola_sym._version import __version__
    try:
        import symengine
        se = symengine.__version__
    except ImportError:
        se = None
    return {"python": sys.version.split()[0], "sympy": sympy.__version__, "symengine": se,
            "numpy": numpy.__version__, "lola_sym": __version__, "cpu": _cpu(),
            "source": source_digest()}


def cache_key(spec: dict, what: str, hyper: tuple, backend: str, versions_: dict | None = None) -> str:
    """SHA-256 of the canonical JSON of everything an entry depends on.

    Examples
    --------
    >>> k = cache_key({"kind": "iterated"}, "lola", ("eta",), "llvm", {"lola_sym": "1"})
    >>> k == cache_key({"kind": "iterated"}, "lola", ("eta",), "llvm", {"lola_sym": "1"})
    True
    >>> k == cache_key({"kind": "iterated"}, "lola", ("eta",), "llvm", {"lola_sym": "2"})
    False
    """
    doc = {"format": FORMAT, "spec": spec, "what": what, "hyper": list(hyper),
           "backend": backend, "versions": versions() if versions_ is None else versions_}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------ directories
@lru_cache(maxsize=None)
def private_dir() -> Path:
    """This process's private temporary directory (``lola_sym_lib_*``), removed at exit.

    Holds the c backend's libraries when the cache is disabled or not used,
    and the whole cache when the configured directory cannot be written.

    Examples
    --------
    >>> private_dir() == private_dir() and private_dir().name.startswith("lola_sym_lib_")
    True
    """
    path = Path(tempfile.mkdtemp(prefix="lola_sym_lib_"))
    atexit.register(_remove_private, path, os.getpid())
    return path


def _remove_private(path: Path, owner: int) -> None:
    if os.getpid() == owner:            # not in a forked child that inherited the handler
        shutil.rmtree(path, ignore_errors=True)


def _secret(root: Path) -> bytes:
    """The 32-byte secret of ``root``, created once (atomically: concurrent creators agree)."""
    path = root / "secret.key"
    for _ in range(3):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = None
        if data is not None and len(data) == 32:
            return data
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".secret-")
        try:
            os.chmod(tmp, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
            if data is None:
                try:
                    os.link(tmp, path)          # fails if another process created it first
                except FileExistsError:
                    continue
                except OSError:                 # no hard links on this file system
                    os.replace(tmp, path)
            else:                               # a damaged secret: replace it
                os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    raise OSError(f"could not create a stable secret.key in {root}")


def _prepare(root: Path) -> None:
    """Create ``root`` and ``root/lib`` and check that both can be written; OSError if not."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    (root / "lib").mkdir(exist_ok=True)
    for d in (root, root / "lib"):
        fd, probe = tempfile.mkstemp(dir=d, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    _secret(root)


def location() -> Path:
    """The cache directory in use by this process, created if needed.

    :func:`cache_dir` when entries and libraries can be written there;
    otherwise (read-only, a file in the way, ...) a directory inside
    :func:`private_dir`, with one :class:`CacheWarning` per directory and cause.

    Examples
    --------
    A fresh directory is created with its ``lib`` directory and its secret:

    >>> import os, tempfile, warnings
    >>> from unittest import mock
    >>> with (tempfile.TemporaryDirectory() as d,
    ...       mock.patch.dict(os.environ, {"LOLA_SYM_CACHE_DIR": os.path.join(d, "c")})):
    ...     root = location()
    ...     root == Path(d) / "c", sorted(p.name for p in root.iterdir())
    (True, ['lib', 'secret.key'])

    A file in the way: one warning, and a private directory instead:

    >>> with (tempfile.NamedTemporaryFile() as f,
    ...       mock.patch.dict(os.environ, {"LOLA_SYM_CACHE_DIR": f.name}),
    ...       warnings.catch_warnings(record=True) as caught):
    ...     warnings.simplefilter("always")
    ...     root = location()
    >>> root == private_dir() / "cache", [w.category.__name__ for w in caught]
    (True, ['CacheWarning'])
    """
    root = cache_dir()
    try:
        _prepare(root)
        return root
    except OSError as exc:
        _warn_once(("unusable", str(root), type(exc).__name__),
                   f"lola_sym cache: cannot use {root} ({exc}); compiled code is kept in a "
                   f"private temporary directory for this process only")
    fallback = private_dir() / "cache"
    _prepare(fallback)
    return fallback


def lib_dir() -> Path:
    """Where the c backend's shared libraries are kept (``lib`` in :func:`location`).

    Examples
    --------
    >>> lib_dir().name, lib_dir().parent == location()
    ('lib', True)
    """
    return location() / "lib"


def _path(root: Path, key: str) -> Path:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"a cache key is 1 to 128 letters, digits, '-' or '_', got {key!r}")
    return root / f"{key}.entry"


def _mac(secret: bytes, key: str, fields: dict, body: bytes) -> str:
    """HMAC-SHA256 of the format, ``key`` (from the request), the header ``fields`` and ``body``."""
    signed = json.dumps({"format": FORMAT, "key": key, **fields}, sort_keys=True).encode()
    return hmac.new(secret, _DOMAIN + b"\0" + signed + b"\0" + body, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------- load, store
def store(key: str, payload: dict, *, libs=(), root: Path | None = None) -> Path | None:
    """Write ``payload`` (JSON-able; ``bytes`` values allowed) atomically; returns the path.

    ``libs`` are the names of the files in ``lib/`` the entry needs (evicted
    with it). A write that fails gives one :class:`CacheWarning` per cause and
    returns ``None``. A store that takes the cache over :func:`max_bytes`
    evicts least recently used entries.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = store("k" * 64, {"a": b"\\x00", "b": [1, 2.5]}, root=Path(d))
    ...     path.name == "k" * 64 + ".entry", load("k" * 64, root=Path(d))
    (True, {'a': b'\\x00', 'b': [1, 2.5]})
    """
    libs = sorted(set(libs))
    for name in libs:
        if not isinstance(name, str) or not _FILE.fullmatch(name):
            raise ValueError(f"a library name is a plain file name, got {name!r}")
    root = location() if root is None else root
    path = _path(root, key)
    try:
        body = json.dumps(_encode(payload), sort_keys=True).encode()
        fields = {"length": len(body), "libs": libs}
        mac = _mac(_secret(root), key, fields, body)
        header = json.dumps({"format": FORMAT, "key": key, **fields, "mac": mac}).encode()
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".entry-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(header + b"\n" + body)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        _warn_once(("write", str(path), type(exc).__name__),
                   f"lola_sym cache: could not write {path}: {exc}")
        return None
    try:
        _evict(root, max_bytes())
    except OSError as exc:
        _warn_once(("evict", str(root), type(exc).__name__),
                   f"lola_sym cache: could not evict old entries in {root}: {exc}")
    return path


def load(key: str, *, root: Path | None = None) -> dict | None:
    """The verified payload of ``key``, or ``None`` (missing, or invalid with a warning).

    A verified entry is touched (its modification time is the last use).

    Examples
    --------
    >>> import tempfile, warnings
    >>> with tempfile.TemporaryDirectory() as d:
    ...     root = Path(d)
    ...     missing = load("a" * 64, root=root)
    ...     path = store("a" * 64, {"x": [1, 2]}, root=root)
    ...     good = load("a" * 64, root=root)
    ...     _ = path.write_bytes(path.read_bytes().replace(b"[1, 2]", b"[1, 3]"))   # tamper
    ...     with warnings.catch_warnings(record=True) as caught:
    ...         warnings.simplefilter("always")
    ...         tampered = load("a" * 64, root=root)
    ...     gone = not path.exists()
    >>> missing, good, tampered, gone
    (None, {'x': [1, 2]}, None, True)
    >>> "failed its integrity check" in str(caught[0].message)
    True
    """
    root = location() if root is None else root
    path = _path(root, key)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _reject(path, f"unreadable ({exc})")
    head, sep, body = raw.partition(b"\n")
    try:
        header = json.loads(head)
    except ValueError:
        return _reject(path, "corrupt header")
    if not sep or not isinstance(header, dict) or header.get("format") != FORMAT:
        return _reject(path, "unknown format")
    if header.get("key") != key:
        return _reject(path, "stale (its key does not match)")
    if header.get("length") != len(body):
        return _reject(path, "truncated")
    fields = {"length": header["length"], "libs": header.get("libs")}
    try:
        mac = _mac(_secret(root), key, fields, body)
    except OSError as exc:
        return _reject(path, f"cannot be verified ({exc})")
    if not isinstance(header.get("mac"), str) or not hmac.compare_digest(mac, header["mac"]):
        return _reject(path, "failed its integrity check (tampered, renamed from another key, "
                             "or written under another secret)")
    try:
        payload = _decode(json.loads(body))
    except (ValueError, TypeError):
        return _reject(path, "corrupt payload")
    try:
        os.utime(path)
    except OSError:
        pass
    return payload


def _reject(path: Path, why: str):
    _warn_once(("reject", str(path), why.split(" ")[0]),
               f"lola_sym cache: ignoring {path.name}: {why}; rebuilding")
    try:
        path.unlink(missing_ok=True)
    except OSError:                     # e.g. a directory in its place: leave it alone
        pass
    return None


# ------------------------------------------------------------------ size, clear
def _files(d: Path, suffix: str = "") -> list:
    """``(path, size, mtime_ns)`` of the regular files of ``d`` not starting with '.'."""
    out = []
    try:
        with os.scandir(d) as it:
            for e in it:
                if e.name.startswith(".") or not e.name.endswith(suffix):
                    continue
                try:
                    if e.is_file(follow_symlinks=False):
                        st = e.stat(follow_symlinks=False)
                        out.append((Path(e.path), st.st_size, st.st_mtime_ns))
                except OSError:
                    pass
    except (FileNotFoundError, NotADirectoryError):
        pass
    return out


def _header_libs(path: Path) -> list:
    """The library names an entry's header lists (unverified: only used to free space)."""
    try:
        with open(path, "rb") as fh:
            header = json.loads(fh.readline(_HEADER_MAX))
        libs = header.get("libs") or []
        return [n for n in libs if isinstance(n, str) and _FILE.fullmatch(n)]
    except (OSError, ValueError, AttributeError):
        return []


def _stale_temporaries(root: Path) -> list:
    now = time.time_ns()
    out = []
    for d in (root, root / "lib"):
        try:
            names = [n for n in os.listdir(d) if n.startswith((".entry-", ".so-", ".probe-",
                                                               ".secret-"))]
        except OSError:
            continue
        for n in names:
            try:
                st = os.stat(d / n)
            except OSError:
                continue
            if now - st.st_mtime_ns > GRACE_SECONDS * 10**9:
                out.append((d / n, st.st_size))
    return out


def _evict(root: Path, cap: int) -> None:
    """Free space down to :data:`LOW_WATER` of ``cap`` if the cache holds more than ``cap``."""
    entries = _files(root, ".entry")
    libs = {p.name: (p, size, mtime) for p, size, mtime in _files(root / "lib")}
    total = sum(s for _, s, _ in entries) + sum(s for _, s, _ in libs.values())
    if total <= cap:
        return
    target = int(cap * LOW_WATER)
    uses = {p: _header_libs(p) for p, _, _ in entries}
    refs = Counter(n for names in uses.values() for n in set(names))
    old = time.time_ns() - GRACE_SECONDS * 10**9
    for p, size in _stale_temporaries(root):
        p.unlink(missing_ok=True)
    for name, (p, size, mtime) in libs.items():          # libraries no entry uses
        if refs[name] == 0 and mtime < old:
            p.unlink(missing_ok=True)
            total -= size
    for p, size, _ in sorted(entries, key=lambda e: e[2]):     # least recently used first
        if total <= target:
            break
        p.unlink(missing_ok=True)
        total -= size
        for name in set(uses[p]):
            refs[name] -= 1
            if refs[name] == 0 and name in libs:
                libs[name][0].unlink(missing_ok=True)
                total -= libs[name][1]


def info() -> dict:
    """What the configured cache directory holds.

    Returns
    -------
    dict
        ``directory``, ``enabled``, ``entries`` (count), ``libraries``
        (count), ``bytes`` (their total size) and ``max_bytes`` (the cap).

    Examples
    --------
    >>> sorted(info())
    ['bytes', 'directory', 'enabled', 'entries', 'libraries', 'max_bytes']
    """
    root = cache_dir()
    entries, libs = _files(root, ".entry"), _files(root / "lib")
    return {"directory": str(root), "enabled": enabled(), "entries": len(entries),
            "libraries": len(libs), "bytes": sum(s for _, s, _ in entries + libs),
            "max_bytes": max_bytes()}


def clear() -> int:
    """Delete every entry and library of the configured directory; returns how many entries.

    The secret is kept. Safe while other processes use the cache: they
    rebuild what they miss (a loaded library stays usable).

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> with (tempfile.TemporaryDirectory() as d,
    ...       mock.patch.dict(os.environ, {"LOLA_SYM_CACHE_DIR": d})):
    ...     for key in ("a" * 64, "b" * 64):
    ...         _ = store(key, {"x": 1})
    ...     _ = (lib_dir() / "lola_x.so").write_bytes(b"")
    ...     before = info()["entries"], info()["libraries"]
    ...     removed = clear()
    ...     after = info()["entries"], info()["libraries"]
    ...     kept = sorted(p.name for p in Path(d).iterdir())
    >>> before, removed, after, kept
    ((2, 1), 2, (0, 0), ['lib', 'secret.key'])
    """
    root = cache_dir()
    n = 0
    for p, _, _ in _files(root, ".entry"):
        p.unlink(missing_ok=True)
        n += 1
    for p, _, _ in _files(root / "lib"):
        p.unlink(missing_ok=True)
    return n


def _encode(obj):
    if isinstance(obj, bytes):
        return {"__bytes__": base64.b64encode(obj).decode()}
    if isinstance(obj, dict):
        return {k: _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    return obj


def _decode(obj):
    if isinstance(obj, dict):
        if set(obj) == {"__bytes__"}:
            return base64.b64decode(obj["__bytes__"], validate=True)
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj
