r"""On-disk cache of compiled update maps.

Entries are keyed by the game's exact specification, what is compiled (a rule
or the values), its symbolic hyper-parameters, the backend and the versions of
Python, sympy, symengine, numpy and lola_sym, plus the CPU (native code is
machine specific). Each entry is one file: a JSON header line with the key and
an HMAC-SHA256 of the payload under a per-user secret (``secret.key`` in the
cache directory, mode 0600), then a JSON payload. Nothing in an entry is
parsed beyond JSON, let alone executed, before its MAC verifies; a truncated,
tampered, stale or unreadable entry is reported with a :class:`CacheWarning`
and rebuilt. Entries are written atomically (temporary file + ``os.replace``).

The directory is ``$LOLA_SYM_CACHE_DIR`` if set, else
``$XDG_CACHE_HOME/lola_sym`` or ``~/.cache/lola_sym``. Set
``LOLA_SYM_NO_CACHE=1`` to disable the cache.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import platform
import secrets
import sys
import tempfile
import warnings
from pathlib import Path

__all__ = ["cache_dir", "lib_dir", "cache_key", "load", "store", "enabled", "CacheWarning", "FORMAT",
           "versions", "clear"]

#: Entry format version; part of every key.
FORMAT = 2   # 2: C code with dynamic OpenMP scheduling
_ENV_DIR = "LOLA_SYM_CACHE_DIR"
_ENV_OFF = "LOLA_SYM_NO_CACHE"


class CacheWarning(UserWarning):
    """A cache entry could not be used and is being rebuilt."""


def enabled() -> bool:
    """False when ``LOLA_SYM_NO_CACHE`` is set to a non-empty value other than 0."""
    return os.environ.get(_ENV_OFF, "") in ("", "0")


def cache_dir() -> Path:
    """The cache directory (not created)."""
    if os.environ.get(_ENV_DIR):
        return Path(os.environ[_ENV_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lola_sym"


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


def versions() -> dict:
    """Versions that invalidate cached code when they change."""
    import numpy
    import sympy

    import lola_sym
    try:
        import symengine
        se = symengine.__version__
    except ImportError:
        se = None
    return {"python": sys.version.split()[0], "sympy": sympy.__version__, "symengine": se,
            "numpy": numpy.__version__, "lola_sym": lola_sym.__version__, "cpu": _cpu()}


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


def _secret(root: Path) -> bytes:
    path = root / "secret.key"
    try:
        data = path.read_bytes()
        if len(data) == 32:
            return data
    except FileNotFoundError:
        pass
    data = secrets.token_bytes(32)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".secret-")
    try:
        os.chmod(tmp, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return data


def lib_dir() -> Path:
    """Where compiled shared libraries of the c backend are kept."""
    return cache_dir() / "lib"


def _path(key: str) -> Path:
    return cache_dir() / f"{key}.entry"


def store(key: str, payload: dict) -> Path | None:
    """Write ``payload`` (JSON-able; ``bytes`` values allowed) atomically. Returns the path."""
    root = cache_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        body = json.dumps(_encode(payload), sort_keys=True).encode()
        mac = hmac.new(_secret(root), body, hashlib.sha256).hexdigest()
        header = json.dumps({"format": FORMAT, "key": key, "mac": mac, "length": len(body)}).encode()
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".entry-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(header + b"\n" + body)
            os.replace(tmp, _path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        warnings.warn(f"lola_sym cache: could not write to {root}: {exc}", CacheWarning, stacklevel=2)
        return None
    return _path(key)


def load(key: str) -> dict | None:
    """The verified payload of ``key``, or ``None`` (missing, or invalid with a warning)."""
    path = _path(key)
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
    mac = hmac.new(_secret(cache_dir()), body, hashlib.sha256).hexdigest()
    if not isinstance(header.get("mac"), str) or not hmac.compare_digest(mac, header["mac"]):
        return _reject(path, "failed its integrity check (tampered or written under another secret)")
    try:
        return _decode(json.loads(body))
    except (ValueError, TypeError):
        return _reject(path, "corrupt payload")


def _reject(path: Path, why: str):
    warnings.warn(f"lola_sym cache: ignoring {path.name}: {why}; rebuilding", CacheWarning,
                  stacklevel=3)
    path.unlink(missing_ok=True)
    return None


def clear() -> int:
    """Delete every entry; returns how many were removed."""
    n = 0
    root = cache_dir()
    if root.is_dir():
        for p in root.glob("*.entry"):
            p.unlink(missing_ok=True)
            n += 1
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
