"""serving.live: live assessments equal the batch pipeline's.

On a copy of the 3,000-enterprise county with its champions: the pipeline publishes a set
with every assessment; a live update reassesses what it moves with the champions; a second
pipeline run (a full recompute) must assess every enterprise exactly as the set with its
delta does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from risk.live import LiveScope, apply_records
from risk.scoresets import current, get_set, read_kind
from risk.store import read_table
from serving.live import live_assessor, pipeline_assessor
from serving.pipeline import run_pipeline
from serving.precredit import mlflow_uri
from tests.serving.conftest import SALT, ApiCounty, copy_county


@pytest.fixture(scope="module")
def county(
    tmp_path_factory: pytest.TempPathFactory, champions_template: Path
) -> Iterator[ApiCounty]:
    built = copy_county(champions_template, tmp_path_factory.mktemp("live-champions"))
    yield built
    built.engine.dispose()


def _assessments(engine: Engine, set_id: int) -> pd.DataFrame:
    return read_kind(engine, "assessments", set_id=set_id)


def _same_assessments(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    problems = []
    if set(a.index) != set(b.index):
        problems.append("different enterprises")
    common = a.index.intersection(b.index)
    for uscc in common:
        x, y = a.loc[uscc], b.loc[uscc]
        if x["decision"] != y["decision"] or x["pd_band"] != y["pd_band"]:
            problems.append(
                f"{uscc}: {x['decision']}/{x['pd_band']} ≠ {y['decision']}/{y['pd_band']}"
            )
        elif not np.isclose(float(x["pd"]), float(y["pd"]), rtol=1e-9):
            problems.append(f"{uscc}: pd {x['pd']} ≠ {y['pd']}")
        elif x["body"] != y["body"]:
            problems.append(f"{uscc}: bodies differ")
    return problems


def _records(county: ApiCounty) -> list[dict[str, Any]]:
    roles = read_table(county.engine, "roles")
    t = pd.Timestamp(county.as_of)
    present = roles[(roles["start"] <= t) & (roles["end"].isna() | (roles["end"] > t))]
    reps = present[(present["role"] == "legal_rep") & (present["holder_type"] == "person")]
    rep = reps.groupby("holder_id").size().sort_values(kind="stable").index[-1]
    return [
        {
            "record_id": "(2026)皖1100执77号",
            "subject_type": "person",
            "subject_id": rep,
            "kind": "dishonest_debtor",
            "domain": "court",
            "severity": "serious",
            "authority": "清源县人民法院",
            "decided": county.as_of.replace(day=1).isoformat(),
        }
    ]


def test_live_assessments_equal_a_full_pipeline_run(county: ApiCounty) -> None:
    risk = county.settings.risk_config()
    uri = mlflow_uri(county.settings)
    first = run_pipeline(county.engine, county.as_of, risk, mlflow_uri=uri)
    assert first.score_set.counts["assessments"] > 0
    assess, why_not = pipeline_assessor(county.engine, county.settings, risk)
    assert assess is not None and why_not is None
    result = apply_records(
        county.engine, "records", _records(county), risk, assess=assess, id_salt=SALT
    )
    assert result.seq == 1 and result.recomputed["assessments"] > 0
    kinds = set(result.events["kind"])
    assert {"grade", "grade_bank"} <= kinds
    pointer = current(county.engine)
    assert pointer is not None
    live = _assessments(county.engine, pointer.set_id)

    second = run_pipeline(county.engine, county.as_of, risk, mlflow_uri=uri)
    full = _assessments(county.engine, second.score_set.id)
    assert not _same_assessments(full, live)
    # The person's enterprises are declined now (失信被执行人 legal rep): the delta said so.
    declined = result.events[result.events["kind"] == "assessment"]
    assert (declined["after"] == "declined").all() and len(declined) >= 1


def test_a_related_group_above_the_limit_keeps_its_assessments(county: ApiCounty) -> None:
    risk = county.settings.risk_config()
    run_pipeline(county.engine, county.as_of, risk, mlflow_uri=mlflow_uri(county.settings))
    pointer = current(county.engine)
    assert pointer is not None
    described = get_set(county.engine, pointer.set_id)
    assess, _ = pipeline_assessor(county.engine, county.settings, risk)
    assert assess is not None
    from serving.pipeline import _champions

    champions = _champions(mlflow_uri(county.settings), risk)
    versions = {n: champions.models[n][0] for n in champions.precredit_names}
    tight = live_assessor(county.engine, champions.scorer, versions, group_limit=1)
    records = _records(county)
    records[0]["record_id"] = "(2026)皖1100执78号"
    scope_notes: list[str] = []

    def watched(scope: LiveScope) -> pd.DataFrame:
        rows = tight(scope)
        scope_notes.extend(scope.notes)
        return rows

    result = apply_records(county.engine, "records", records, risk, assess=watched, id_salt=SALT)
    assert described.model_versions
    assert any("keep their assessment" in n for n in result.notes)
    assert scope_notes == [n for n in result.notes if "assessment" in n]
