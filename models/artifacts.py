"""A registered version's files, read as data: LightGBM model text and JSON — never code.

Why
---
MLflow's "models from code" flavour makes :func:`mlflow.pyfunc.load_model` *execute* the entry
file stored beside the model (pickle and cloudpickle flavours execute whatever the pickle
says), so anyone who can write to the artifact store could run code inside the API and inside
``credlink models promote``. credlink still logs the pyfunc flavour for the MLflow UI and
other tools, but its own loading path — serving, promotion, scoring — downloads only the
version's ``estimator`` directory and reads it here: the booster as text through
``lightgbm.Booster(model_str=...)``, everything else as JSON through the installed credlink
package. Nothing from the artifact store is imported or executed.

What is checked (each failure an :class:`~models.exceptions.ArtifactError` naming the file)
--------------------------------------------------------------------------------------------
- the files are exactly those registered with the version (SHA-256, :func:`check_digests`),
  when the version carries :data:`DIGEST_TAG` (every version registered by this credlink);
- every file exists, is at most :data:`MAX_ARTIFACT_BYTES` and is UTF-8; JSON files hold an
  object (:func:`read_json`); a malformed field becomes an error through :func:`built_from`;
- the booster text has LightGBM's header, and its tree section is exactly as long as the
  header's ``tree_sizes`` say, with every tree where the header puts it
  (:func:`check_model_text`): a truncated file fails here, with the byte counts;
- the text is then parsed and scored once in a **child process** (:func:`probe_booster`):
  LightGBM 4.7 aborts the whole process ("terminate called without an active exception") on
  model strings with a malformed value inside a tree, so the API and the CLI only parse text a
  sacrificial process parsed first;
- the parsed booster's features and iterations must be those of its JSON
  (:func:`read_booster`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightgbm as lgb

from models.exceptions import ArtifactError
from risk.identifiers import mask_id_numbers

__all__ = [
    "DIGEST_TAG",
    "MAX_ARTIFACT_BYTES",
    "PROBE_SECONDS",
    "built_from",
    "check_digests",
    "check_model_text",
    "file_digests",
    "probe_booster",
    "read_booster",
    "read_bytes",
    "read_json",
]

MAX_ARTIFACT_BYTES = 256 * 2**20
"""Largest file read (256 MiB): a county's booster is a few MB, a province's some tens."""

DIGEST_TAG = "credlink.estimator_sha256"
"""Model-version tag: JSON of the estimator files' SHA-256, by relative path, at registration."""

PROBE_SECONDS = 120.0
"""How long the child process may take to parse and score a booster."""

_CHUNK = 1 << 20

# Run with ``python -I``: no current directory, PYTHONPATH or user site on sys.path, so not
# even the standard library can be shadowed by a file next to the model. Only ctypes and the
# LightGBM library the parent process loaded: starts in ~30 ms (``import lightgbm`` takes 1 s).
_PROBE = r"""
import ctypes, json, math, sys
lib = ctypes.CDLL(sys.argv[1])
lib.LGBM_GetLastError.restype = ctypes.c_char_p
text = sys.stdin.buffer.read()
handle, iterations, features = ctypes.c_void_p(), ctypes.c_int(), ctypes.c_int()
if lib.LGBM_BoosterLoadModelFromString(
    ctypes.c_char_p(text), ctypes.byref(iterations), ctypes.byref(handle)
):
    print(json.dumps({"error": lib.LGBM_GetLastError().decode("utf-8", "replace")}))
    sys.exit(0)
lib.LGBM_BoosterGetNumFeature(handle, ctypes.byref(features))
n = features.value
rows = (ctypes.c_double * (2 * n))(*([0.0] * n + [math.nan] * n))
length, scores = ctypes.c_int64(), (ctypes.c_double * 2)()
failed = lib.LGBM_BoosterPredictForMat(
    handle, rows, 1, 2, n, 1, 1, 0, -1, b"num_threads=1", ctypes.byref(length), scores
)
finite = not failed and length.value == 2 and all(math.isfinite(v) for v in scores)
print(json.dumps({"iterations": iterations.value, "features": n, "finite": finite}))
"""


def read_bytes(path: Path) -> bytes:
    """The bytes of an artifact file, at most :data:`MAX_ARTIFACT_BYTES`.

    Raises
    ------
    ArtifactError
        If the file is missing or too large.
    """
    if not path.is_file():
        raise ArtifactError(path.name, "must exist in the version's estimator directory; got none")
    size = path.stat().st_size
    if size > MAX_ARTIFACT_BYTES:
        raise ArtifactError(
            path.name, f"must be at most {MAX_ARTIFACT_BYTES:,} bytes; got {size:,}"
        )
    return path.read_bytes()


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object an artifact file holds.

    Raises
    ------
    ArtifactError
        If the file is missing, too large, not UTF-8 JSON or not an object.
    """
    data = read_bytes(path)
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ArtifactError(
            path.name, f"must be a JSON object; got unreadable JSON ({_describe(error)})"
        ) from None
    if not isinstance(value, dict):
        raise ArtifactError(path.name, f"must be a JSON object; got a {type(value).__name__}")
    return value


def _describe(error: BaseException) -> str:
    text = f"no field {error.args[0]!r}" if isinstance(error, KeyError) and error.args else ""
    text = text or f"{type(error).__name__}: {error}"
    return mask_id_numbers(text)[:300]


@contextmanager
def built_from(artifact: str) -> Iterator[None]:
    """Turn a malformed field of ``artifact`` (missing key, wrong type or value) into an
    :class:`ArtifactError` naming the file, inside the block."""
    try:
        yield
    except ArtifactError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise ArtifactError(
            artifact, f"must hold the fields credlink wrote; got {_describe(error)}"
        ) from None


def check_model_text(artifact: str, data: bytes) -> None:
    """Check that ``data`` is a complete LightGBM binary-model text, without parsing trees.

    Raises
    ------
    ArtifactError
        On a missing header field, more than one class, or a tree section whose length or
        tree positions differ from the header's ``tree_sizes`` (truncated or edited).
    """
    if not data.startswith(b"tree\n"):
        raise ArtifactError(artifact, f"must be LightGBM model text; got {data[:20]!r}")
    header_end = data.find(b"\n\n")
    if header_end < 0:
        raise ArtifactError(artifact, "must have a complete LightGBM header; got it truncated")
    fields = dict(
        line.split(b"=", 1) for line in data[:header_end].split(b"\n")[1:] if b"=" in line
    )
    for key in (b"version", b"num_class", b"max_feature_idx", b"feature_names", b"tree_sizes"):
        if key not in fields:
            raise ArtifactError(
                artifact, f"must have LightGBM's header field {key.decode()}; got none"
            )
    if fields[b"num_class"].strip() != b"1":
        raise ArtifactError(
            artifact, f"must be a binary model; got num_class={fields[b'num_class']!r}"
        )
    try:
        sizes = [int(size) for size in fields[b"tree_sizes"].split()]
        n_features = int(fields[b"max_feature_idx"]) + 1
    except ValueError:
        raise ArtifactError(artifact, "must have integer tree_sizes and max_feature_idx") from None
    if not sizes or min(sizes) <= 0:
        raise ArtifactError(artifact, f"must hold at least one tree; got tree_sizes {sizes[:5]}")
    if len(fields[b"feature_names"].split()) != n_features:
        raise ArtifactError(
            artifact, f"must name max_feature_idx + 1 = {n_features} features in its header"
        )
    start = header_end + 2
    end = data.find(b"end of trees", start)
    expected = sum(sizes)
    if end < 0:
        got = len(data) - start
        raise ArtifactError(
            artifact,
            f"must hold the {expected:,} bytes of {len(sizes)} trees its header announces "
            f"and end with 'end of trees'; got {got:,} bytes without it (truncated)",
        )
    if end - start != expected:
        raise ArtifactError(
            artifact,
            f"must hold the {expected:,} bytes of trees its header announces; got "
            f"{end - start:,} (truncated or edited)",
        )
    offset = start
    for index, size in enumerate(sizes):
        if not data.startswith(f"Tree={index}\n".encode(), offset):
            raise ArtifactError(artifact, f"must hold tree {index} where its header puts it")
        offset += size


def _library() -> str:
    # The LightGBM library this process loaded: the child parses with the very same code.
    return str(lgb.basic._LIB._name)


def probe_booster(artifact: str, data: bytes) -> None:
    """Parse ``data`` and score two rows (zeros, missing) with LightGBM in a child process.

    Raises
    ------
    ArtifactError
        If LightGBM refuses the text, the child dies (LightGBM aborted), takes longer than
        :data:`PROBE_SECONDS`, or the scores are not finite.
    """
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _PROBE, _library()],
            input=data,
            capture_output=True,
            timeout=PROBE_SECONDS,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ArtifactError(
            artifact, f"must parse within {PROBE_SECONDS:g} s; got no answer in time"
        ) from None
    if done.returncode != 0:
        raise ArtifactError(
            artifact,
            f"must be a model LightGBM can parse; got one that made LightGBM abort (exit "
            f"{done.returncode})",
        )
    try:
        report = json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])
    except (IndexError, UnicodeDecodeError, ValueError):
        raise ArtifactError(artifact, "must be a model LightGBM can parse; got no report") from None
    if "error" in report:
        raise ArtifactError(
            artifact, f"must be a model LightGBM can parse; got: {str(report['error'])[:200]}"
        )
    if not report.get("finite"):
        raise ArtifactError(artifact, "must score finite values; got NaN, infinite or none")


def read_booster(path: Path, *, feature_names: Sequence[str], iterations: int) -> lgb.Booster:
    """The booster of ``path``, checked (module docstring) against its JSON's features and
    iterations.

    Parameters
    ----------
    path
        ``booster.txt``.
    feature_names
        The features the estimator's JSON lists, in order.
    iterations
        The boosting rounds it kept (its ``best_iteration``).

    Raises
    ------
    ArtifactError
        If the text is not a complete, parseable model of those features and rounds.
    """
    data = read_bytes(path)
    check_model_text(path.name, data)
    probe_booster(path.name, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ArtifactError(path.name, "must be UTF-8 text; got other bytes") from None
    try:
        booster = lgb.Booster(model_str=text)
    except lgb.basic.LightGBMError as error:  # the probe parsed it: only if the files changed
        raise ArtifactError(path.name, f"must parse; got: {_describe(error)}") from None
    # LightGBM writes spaces in feature names as underscores.
    expected = [str(name).replace(" ", "_") for name in feature_names]
    found = list(booster.feature_name())
    if found != expected:
        if len(found) != len(expected):
            got = f"{len(found)} features where the JSON lists {len(expected)}"
        else:
            i = next(i for i, (a, b) in enumerate(zip(found, expected, strict=True)) if a != b)
            got = f"feature {found[i]!r} at position {i} where the JSON lists {expected[i]!r}"
        raise ArtifactError(path.name, f"must score the features its JSON lists; got {got}")
    if booster.current_iteration() != iterations:
        raise ArtifactError(
            path.name,
            f"must hold the {iterations} rounds its JSON records; got "
            f"{booster.current_iteration()}",
        )
    return booster


def file_digests(directory: Path) -> dict[str, str]:
    """SHA-256 (hex) of every file under ``directory``, by relative POSIX path.

    Raises
    ------
    ArtifactError
        If a file is larger than :data:`MAX_ARTIFACT_BYTES`.
    """
    digests = {}
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        if path.stat().st_size > MAX_ARTIFACT_BYTES:
            raise ArtifactError(
                path.name, f"must be at most {MAX_ARTIFACT_BYTES:,} bytes; got more"
            )
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        digests[path.relative_to(directory).as_posix()] = digest.hexdigest()
    return digests


def check_digests(directory: Path, expected: Mapping[str, str]) -> None:
    """Check that ``directory`` holds exactly the files registered, byte for byte.

    Raises
    ------
    ArtifactError
        Naming the first file (by name) that is missing, extra or different.
    """
    found = file_digests(directory)
    for name in sorted(set(expected) | set(found)):
        if name not in found:
            raise ArtifactError(name, "must exist (registered with the version); got none")
        if name not in expected:
            raise ArtifactError(
                name,
                "must not exist: the version was registered without it (changed after "
                "registration)",
            )
        if found[name] != expected[name]:
            raise ArtifactError(
                name,
                f"must be the file registered with the version (SHA-256 {expected[name][:12]}…); "
                f"got SHA-256 {found[name][:12]}… (changed after registration)",
            )
