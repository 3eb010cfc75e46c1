"""Registered models are data: loading reads booster text and JSON, never code from the store.

Each test registers its own copy of the session's trained PD model (its own files in the
artifact store) so that it can plant or break files without touching the other tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from models import artifacts
from models.exceptions import ArtifactError, ModelError
from models.pyfunc import load_estimator
from models.registry import ModelRegistry
from models.tracking import CHAMPION, ModelRun, log_model_run, mlflow_session, tracking_uris
from models.training import TrainResult

PLANTED = """\
import pathlib
pathlib.Path({marker!r}).write_text("code from the artifact store ran")
raise SystemExit("planted code ran")
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A tracking store of this module's own."""
    return tracking_uris(tmp_path_factory.mktemp("artifacts"))


def register_copy(trained: TrainResult, store: tuple[str, str], name: str) -> str:
    """Log and register the session's PD model again under ``name``; its new version."""
    uri, artifacts = store
    model = trained.pd_model
    run = log_model_run(
        ModelRun(
            experiment=name,
            registered_name=name,
            estimator=model,
            input_example=trained.holdout[model.feature_names_].head(5),
            holdout=trained.holdout,
        ),
        uri,
        artifacts,
    )
    assert run.version is not None
    return run.version


def model_dir(uri: str, name: str, version: str) -> Path:
    """The directory the artifact store keeps a version's model files in."""
    with mlflow_session(uri) as client:
        location = client.get_model_version_download_uri(name, version)
    return Path(unquote(urlparse(location).path))


def drop_digest(uri: str, name: str, version: str) -> None:
    """Make a version look registered before credlink recorded file digests."""
    with mlflow_session(uri) as client:
        client.delete_model_version_tag(name, version, "credlink.estimator_sha256")


def test_promotion_and_loading_never_run_code_from_the_artifact_store(
    trained: TrainResult, store: tuple[str, str], tmp_path: Path
) -> None:
    uri = store[0]
    name = "planted-entry"
    version = register_copy(trained, store, name)
    marker = tmp_path / "marker"
    root = model_dir(uri, name, version)
    entry = root / "_mlflow_entry.py"
    assert entry.exists()  # the pyfunc flavour is still logged for MLflow's own tools
    entry.write_text(PLANTED.format(marker=str(marker)))
    (root / "sitecustomize.py").write_text(PLANTED.format(marker=str(marker)))
    registry = ModelRegistry(uri)
    result = registry.promote(name, version)
    assert result.promoted and registry.alias_version(name, CHAMPION) == version
    loaded = registry.load(name, CHAMPION)
    X = trained.holdout[trained.pd_model.feature_names_]
    assert np.array_equal(loaded.predict_pd(X), trained.pd_model.predict_pd(X))
    assert not marker.exists()


def test_python_files_planted_beside_the_booster_never_run(
    trained: TrainResult, store: tuple[str, str], tmp_path: Path
) -> None:
    uri = store[0]
    name = "planted-estimator"
    version = register_copy(trained, store, name)
    marker = tmp_path / "marker"
    estimator = model_dir(uri, name, version) / "artifacts" / "estimator"
    for module in ("lightgbm.py", "numpy.py", "sitecustomize.py", "json.py"):
        (estimator / module).write_text(PLANTED.format(marker=str(marker)))
    registry = ModelRegistry(uri)
    # The files differ from those registered: refused, cleanly, naming what changed.
    with pytest.raises(ArtifactError, match=rf"{name} version {version}: .*json\.py"):
        registry.promote(name, version, force=True, actor="张三", reason="planted files test")
    assert registry.alias_version(name, CHAMPION) is None
    # A version registered before credlink recorded digests loads them as data all the same.
    drop_digest(uri, name, version)
    assert registry.promote(name, version).promoted
    assert registry.load(name, version).best_iteration_ == trained.pd_model.best_iteration_
    assert not marker.exists()


def test_a_changed_file_is_refused_as_changed_after_registration(
    trained: TrainResult, store: tuple[str, str]
) -> None:
    uri = store[0]
    name = "changed-after-registration"
    version = register_copy(trained, store, name)
    meta_path = model_dir(uri, name, version) / "artifacts" / "estimator" / "pd_model.json"
    meta = json.loads(meta_path.read_text("utf-8"))
    meta["calibrator"]["params"]["b"] += 1.0
    meta_path.write_text(json.dumps(meta), "utf-8")  # valid JSON, other predictions
    with pytest.raises(ArtifactError, match=r"pd_model\.json.*changed after registration") as error:
        ModelRegistry(uri).load(name, version)
    assert (error.value.name, error.value.version, error.value.artifact) == (
        name,
        version,
        "pd_model.json",
    )


@pytest.mark.parametrize(
    ("breakage", "artifact", "reason"),
    [
        ("truncate", "booster.txt", "truncated"),
        ("remove", "booster.txt", "must exist"),
        ("bad json", "pd_model.json", "must be a JSON object"),
        ("features", "booster.txt", "feature"),
    ],
)
def test_a_broken_legacy_version_is_a_model_error_naming_it(
    trained: TrainResult, store: tuple[str, str], breakage: str, artifact: str, reason: str
) -> None:
    uri = store[0]
    name = f"broken-{breakage.replace(' ', '-')}"
    version = register_copy(trained, store, name)
    drop_digest(uri, name, version)  # no digest: the files themselves must be checked
    estimator = model_dir(uri, name, version) / "artifacts" / "estimator"
    booster = estimator / "booster.txt"
    if breakage == "truncate":
        text = booster.read_bytes()
        booster.write_bytes(text[: len(text) // 2])
    elif breakage == "remove":
        booster.unlink()
    elif breakage == "bad json":
        (estimator / "pd_model.json").write_text('{"kind": "pd", "config": ', "utf-8")
    else:
        meta = json.loads((estimator / "pd_model.json").read_text("utf-8"))
        meta["feature_names"] = list(reversed(meta["feature_names"]))
        (estimator / "pd_model.json").write_text(json.dumps(meta), "utf-8")
    registry = ModelRegistry(uri)
    with pytest.raises(ModelError) as error:
        registry.load(name, version)
    assert isinstance(error.value, ArtifactError)
    message = str(error.value)
    assert f"{name} version {version}" in message and artifact in message and reason in message
    with pytest.raises(ArtifactError):  # not even forced: a version that cannot load
        registry.promote(name, version, force=True, actor="张三", reason="broken artifact test")
    assert registry.alias_version(name, CHAMPION) is None


# --------------------------------------------------------------------------- files as data


def _booster_edits(text: str) -> dict[str, str]:
    """Broken booster texts: each must be refused, none may take the process down."""
    return {
        # Same length, so the header still fits: LightGBM 4.7 aborts the process on these.
        "a letter in a threshold": re.sub(
            r"^threshold=\d", "threshold=z", text, count=1, flags=re.MULTILINE
        ),
        "a tree with too many leaves": re.sub(
            r"^num_leaves=(\d+)",
            lambda m: "num_leaves=" + "9" * len(m[1]),
            text,
            count=1,
            flags=re.MULTILINE,
        ),
        "two bytes inserted": text.replace("leaf_value=", "leaf_value=1 ", 1),
        "truncated": text[: len(text) // 3],
        "no tree_sizes": text.replace("tree_sizes=", "tree_sizez=", 1),
        "not a model": "hello",
        "multiclass": text.replace("num_class=1", "num_class=3", 1),
    }


BOOSTER_REASONS = {
    "a letter in a threshold": "made LightGBM abort",
    "a tree with too many leaves": "made LightGBM abort",
    "two bytes inserted": "bytes of trees its header announces; got",
    "truncated": "(truncated)",
    "no tree_sizes": "header field tree_sizes",
    "not a model": "must be LightGBM model text",
    "multiclass": "must be a binary model",
}


@pytest.mark.parametrize("edit", sorted(BOOSTER_REASONS))
def test_a_broken_booster_is_refused_without_taking_the_process_down(
    trained: TrainResult, tmp_path: Path, edit: str
) -> None:
    directory = trained.pd_model.save(tmp_path / "estimator")
    booster = directory / "booster.txt"
    broken = _booster_edits(booster.read_text("utf-8"))[edit]
    assert broken != booster.read_text("utf-8")
    booster.write_text(broken, "utf-8")
    with pytest.raises(ArtifactError, match=re.escape(BOOSTER_REASONS[edit])) as error:
        load_estimator(directory)
    assert error.value.artifact == "booster.txt" and error.value.name is None


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda meta: meta.pop(key)


def _rename_free_feature(meta: dict[str, Any]) -> None:
    names = meta["feature_names"]
    free = [n for n in names if n not in meta["monotone"] and n not in meta["categorical"]]
    names[names.index(free[0])] = "renamed"


PD_JSON_EDITS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "no calibrator": (_drop("calibrator"), "no field 'calibrator'"),
    "another kind": (lambda m: m.update(kind="limit"), "kind must be 'pd'"),
    "a grade missing": (lambda m: m["grade_table"] and m.update(grade_table={}), "grade_table"),
    "a constrained categorical": (
        lambda m: m["monotone"].update(kind=1),
        "must be 0 for a categorical column",
    ),
    "a calibrator of another method": (
        lambda m: m["calibrator"].update(method="isotonic"),
        "no field 'x'",
    ),
    "the vocabulary of another column": (
        lambda m: m["encoder"]["vocabulary"].update(other=["a"]),
        "encoder's columns",
    ),
    "one round more": (
        lambda m: m.update(best_iteration=m["best_iteration"] + 1),
        "rounds its JSON records",
    ),
    "an unconstrained numeric feature renamed": (_rename_free_feature, "must score the features"),
    "a list": (lambda m: m.clear(), "no field 'kind'"),
}


@pytest.mark.parametrize("edit", sorted(PD_JSON_EDITS))
def test_a_malformed_pd_json_is_refused_naming_the_file(
    trained: TrainResult, tmp_path: Path, edit: str
) -> None:
    directory = trained.pd_model.save(tmp_path / "estimator")
    path = directory / "pd_model.json"
    meta = json.loads(path.read_text("utf-8"))
    change, reason = PD_JSON_EDITS[edit]
    change(meta)
    path.write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ArtifactError, match=re.escape(reason)) as error:
        load_estimator(directory)
    assert error.value.artifact in {"pd_model.json", "booster.txt"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"kind": "limit", ', "must be a JSON object; got unreadable JSON"),
        (b"[1, 2]", "must be a JSON object; got a list"),
        (b"\xff\xfe", "unreadable JSON"),
        (b'{"kind": "limit"}', "no field 'policy'"),
    ],
)
def test_a_malformed_limit_json_is_refused(
    trained: TrainResult, tmp_path: Path, content: bytes, reason: str
) -> None:
    assert trained.limit_model is not None
    directory = trained.limit_model.save(tmp_path / "estimator")
    (directory / "limit_model.json").write_bytes(content)
    with pytest.raises(ArtifactError, match=re.escape(reason)):
        load_estimator(directory)


def test_limit_weights_must_be_the_three_capacity_weights(
    trained: TrainResult, tmp_path: Path
) -> None:
    assert trained.limit_model is not None
    directory = trained.limit_model.save(tmp_path / "estimator")
    path = directory / "limit_model.json"
    meta = json.loads(path.read_text("utf-8"))
    meta["weights"]["tax"] = -1.0
    path.write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ArtifactError, match="weights must be finite and ≥ 0"):
        load_estimator(directory)


def test_an_empty_directory_and_an_oversized_file_are_refused(
    trained: TrainResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(
        ArtifactError, match=re.escape("must hold pd_model.json or limit_model.json")
    ):
        load_estimator(tmp_path)
    directory = trained.pd_model.save(tmp_path / "estimator")
    monkeypatch.setattr(artifacts, "MAX_ARTIFACT_BYTES", 1000)
    with pytest.raises(ArtifactError, match="must be at most 1,000 bytes"):
        load_estimator(directory)


def test_digests_name_the_missing_extra_or_changed_file(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "b.txt").write_text("tree")
    registered = artifacts.file_digests(tmp_path)
    assert sorted(registered) == ["a.json", "b.txt"]
    artifacts.check_digests(tmp_path, registered)
    (tmp_path / "c.py").write_text("print('hi')")
    with pytest.raises(ArtifactError, match=r"c\.py must not exist"):
        artifacts.check_digests(tmp_path, registered)
    (tmp_path / "c.py").unlink()
    (tmp_path / "b.txt").write_text("tref")
    with pytest.raises(ArtifactError, match=r"b\.txt must be the file registered"):
        artifacts.check_digests(tmp_path, registered)
    (tmp_path / "b.txt").unlink()
    with pytest.raises(ArtifactError, match=r"b\.txt must exist"):
        artifacts.check_digests(tmp_path, registered)


def test_an_artifact_error_never_repeats_an_id_number() -> None:
    error = ArtifactError("pd_model.json", "must hold …; got '11010519491231002X'").located(
        "credlink-pd", "3"
    )
    assert "11010519491231002X" not in str(error) and "110105********002X" in str(error)
    assert str(error).startswith("credlink-pd version 3: artifact pd_model.json must hold")
