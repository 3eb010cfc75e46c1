"""The API answers from the current score set and never recomputes the county.

* What it serves equals the set's rows and a full recompute on the whole graph
  (:func:`risk.batch.run_risk_batch`, :func:`risk.explain.explain` on the county's snapshot),
  the explanations computed on each enterprise's K-hop ball included — on SQLite and
  PostgreSQL.
* While the pointer switches between sets under concurrent requests, each answer comes wholly
  from the one set its ``X-Score-Set`` header names.
* Without a current set every route that needs one answers 503 saying to run
  ``credlink pipeline run``, as often and as concurrently as it is asked.
* Each route, called many times in one process and concurrently, answers alike.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from risk.batch import run_risk_batch
from risk.config import RiskConfig
from risk.explain import explain
from risk.grades import GRADE_LABELS, Grade
from risk.scoresets import begin_set, current, get_set, publish, read_kind, write_kind
from risk.snapshot import score_snapshot
from risk.store import migrate, open_engine, read_table
from serving.app import create_app
from serving.keys import create_key
from serving.roles import KeyRole
from serving.scores import SCORE_SET_HEADER
from serving.settings import Settings
from tests.serving.conftest import VALID_AUTHORIZATION, ApiCounty, build_county

AUTH = {
    "id": "SQ-2026-000901",
    "purpose": "pre_credit",
    "granted_at": "2026-01-01",
    "expires_at": (date.today() + timedelta(days=180)).isoformat(),
}
ASSESS = "/v1/precredit/assessments"
BATCH = "/v1/precredit/assessments:batch"
SAMPLE = 30


def _rows(engine: Engine, kind: str, set_id: int | None = None) -> dict[str, dict[str, Any]]:
    frame = read_kind(engine, kind, set_id)
    return {str(k): v for k, v in frame.to_dict("index").items()}


# --------------------------------------------------------------------------- values


def _source(source: dict[str, Any]) -> tuple[str, float, int, list[str]]:
    """What identifies a served source: record, contribution, walks and their sentences."""
    sentences = [path["sentence"] for path in source["paths"]]
    return source["record_id"], source["contribution"], source["n_walks"], sentences


@pytest.fixture
def county(store_url: str, tmp_path: Path) -> Iterator[ApiCounty]:
    """600 enterprises, warned and scored by the pipeline (SQLite and PostgreSQL)."""
    built = build_county(tmp_path, n_enterprises=600, database_url=store_url)
    yield built
    built.engine.dispose()


def test_served_values_equal_the_rows_and_a_full_recompute(county: ApiCounty) -> None:
    engine, config = county.engine, RiskConfig()
    risk_rows, grade_rows = _rows(engine, "risk"), _rows(engine, "grades")
    batch = run_risk_batch(engine, county.as_of, config)  # the whole county, once more
    full = batch.risk_frame().set_index("subject_id")
    scored = batch.scored
    by_linked = sorted(grade_rows, key=lambda u: -risk_rows[u]["linked_risk"])
    asked = [*by_linked[:SAMPLE], *sorted(grade_rows)[:SAMPLE]]
    office, bank = county.headers(KeyRole.credit_office), county.headers(KeyRole.bank)
    explained = 0
    with TestClient(create_app(county.settings)) as client:
        for uscc in dict.fromkeys(asked):
            answer = client.get(f"/v1/entities/{uscc}/risk", headers=office)
            assert answer.status_code == 200, answer.text
            body, row = answer.json(), risk_rows[uscc]
            for name in ("own_signal", "linked_risk", "linked_risk_excluding_self"):
                assert body[name] == row[name], (uscc, name)
                assert body[name] == pytest.approx(full.loc[uscc, name], rel=1e-9, abs=1e-12)
            assert (
                body["grade"]["grade"]
                == grade_rows[uscc]["grade"]
                == batch.grades.loc[uscc, "grade"]
            )
            assert body["grade"]["label"] == GRADE_LABELS[Grade(body["grade"]["grade"])]
            expected = explain(
                scored.snapshot, scored.scores, scored.records, uscc, top=5, unmasked=True
            )
            assert body["n_sources"] == expected.n_sources
            got = [_source(s) for s in body["top_sources"]]
            assert got == [
                (s.record_id, pytest.approx(s.contribution, rel=1e-9), s.n_walks,
                 [w.sentence for w in s.walks])
                for s in expected.sources
            ]  # fmt: skip
            explained += expected.n_sources > 0

            seen_by_bank = client.get(f"/v1/entities/{uscc}/risk", headers=bank).json()
            assert seen_by_bank["grade"]["grade"] == batch.grades_bank.loc[uscc, "grade"]
            assert seen_by_bank["linked_risk"] == body["linked_risk"]

        for uscc in by_linked[:5]:
            network = client.get(f"/v1/entities/{uscc}/network?depth=2", headers=office).json()
            ego = scored.snapshot.ego_graph(uscc, 2)
            assert {n["id"] for n in network["nodes"]} == set(ego.nodes)
            assert {(e["source"], e["target"], e["role"]) for e in network["edges"]} == {
                (h, t, d["role"]) for h, t, d in ego.edges(data=True)
            }
            for node in network["nodes"]:
                assert node["linked_risk"] == risk_rows[node["id"]]["linked_risk"]
                assert node["own_signal"] == pytest.approx(full.loc[node["id"], "own_signal"])
    assert explained >= SAMPLE // 2  # most answers carried an explanation to compare


def test_a_set_scored_with_other_settings_is_reported_and_explained_with_its_own(
    api_county: ApiCounty, tmp_path: Path
) -> None:
    path = tmp_path / "risk.json"
    path.write_text(json.dumps({"propagation": {"alpha": 0.3, "hops": 2}}), encoding="utf-8")
    settings = api_county.settings.model_copy(update={"risk_config_file": path})
    uscc = api_county.linked_uscc
    row = _rows(api_county.engine, "risk")[uscc]
    full = score_snapshot(api_county.engine, api_county.as_of, RiskConfig())  # the set's
    expected = explain(full.snapshot, full.scores, full.records, uscc, top=5, unmasked=True)
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        described = ready.json()["score_set"]
        assert described["config_matches"] is False
        assert "other risk settings than the deployment's" in described["problems"][0]
        answer = client.get(
            f"/v1/entities/{uscc}/risk", headers=api_county.headers(KeyRole.credit_office)
        )
        body = answer.json()
    assert body["linked_risk"] == row["linked_risk"]
    assert [_source(s) for s in body["top_sources"]] == [
        (s.record_id, pytest.approx(s.contribution, rel=1e-9), s.n_walks,
         [w.sentence for w in s.walks])
        for s in expected.sources
    ]  # fmt: skip


# --------------------------------------------------------------------------- switching sets


def _derived_set(engine: Engine, base_id: int, step: int) -> int:
    """A set like ``base_id`` with every value moved by ``step``, published (none pruned)."""
    base = get_set(engine, base_id)
    set_id = begin_set(
        engine,
        base.as_of,
        config_digest=base.config_digest,
        config=base.config,
        model_versions=base.model_versions,
    )
    for kind in ("risk", "grades", "warnings", "assessments"):
        frame = read_kind(engine, kind, base_id).reset_index(names="subject_id")
        if kind == "risk":
            for name in ("own_signal", "linked_risk", "linked_risk_excluding_self"):
                frame[name] = frame[name] + step
        elif kind == "grades":
            frame["grade"] = "ABCD"[step % 4]
            frame["grade_bank"] = "ABCD"[(step + 1) % 4]
            frame["reason"] = frame["reason_bank"] = f"第 {step} 套"
        elif kind == "assessments":
            frame["pd"] = step / 1000
            frame["body"] = [{**body, "pd": step / 1000} for body in frame["body"]]
        write_kind(engine, set_id, kind, frame)
    publish(engine, set_id, keep=50, events=False)
    return set_id


@pytest.fixture(scope="module")
def champions(champions_county: ApiCounty) -> ApiCounty:
    """The 3,000-enterprise county with champions and a set holding their assessments (a
    copy of this module's own: it publishes sets)."""
    return champions_county


def test_each_answer_comes_wholly_from_one_set(champions: ApiCounty) -> None:
    engine = champions.engine
    pointer = current(engine)
    assert pointer is not None
    base_id = pointer.set_id
    risk = read_kind(engine, "risk", base_id)
    grades = read_kind(engine, "grades", base_id)
    asked = list(risk.loc[grades.index].sort_values("linked_risk").index[-4:])
    office = champions.headers(KeyRole.credit_office)
    bank = champions.headers(KeyRole.bank, bank_authorization=False)
    answers: list[tuple[str, str, Any]] = []
    done = threading.Event()

    def ask(client: TestClient) -> None:
        while not done.is_set():
            for uscc in asked:
                risk_answer = client.get(f"/v1/entities/{uscc}/risk", headers=office)
                network = client.get(f"/v1/entities/{uscc}/network", headers=office)
                assessed = client.post(
                    BATCH,
                    json={"items": [{"uscc": u, "authorization": AUTH} for u in asked]},
                    headers=bank,
                )
                for kind, response in (
                    ("risk", risk_answer),
                    ("network", network),
                    ("batch", assessed),
                ):
                    assert response.status_code == 200, response.text
                    answers.append((kind, response.headers[SCORE_SET_HEADER], response.json()))

    with TestClient(create_app(champions.settings)) as client:
        client.app.state.credlink.scores.pointer_seconds = 0.0  # type: ignore[attr-defined]
        with ThreadPoolExecutor(4) as pool:
            running = [pool.submit(ask, client) for _ in range(4)]
            published = [base_id]
            for step in range(1, 6):
                time.sleep(0.3)
                published.append(_derived_set(engine, base_id, step))
            time.sleep(0.3)
            done.set()
            for future in running:
                future.result()

    rows = {
        set_id: {kind: _rows(engine, kind, set_id) for kind in ("risk", "grades", "assessments")}
        for set_id in published
    }
    seen = set()
    for kind, label, body in answers:
        set_id = int(label.split(".")[0])
        seen.add(set_id)
        expected = rows[set_id]
        if kind == "risk":
            row = expected["risk"][body["uscc"]]
            for name in ("own_signal", "linked_risk", "linked_risk_excluding_self"):
                assert body[name] == row[name], (label, name)
            assert body["grade"]["grade"] == expected["grades"][body["uscc"]]["grade"]
            assert body["grade"]["reason"] == expected["grades"][body["uscc"]]["reason"]
        elif kind == "network":
            for node in body["nodes"]:
                assert node["linked_risk"] == expected["risk"][node["id"]]["linked_risk"]
        else:
            for item in body["results"]:
                assert item["assessment"]["pd"] == expected["assessments"][item["uscc"]]["pd"]
    assert len(seen) >= 3, seen  # the answers straddled several switches


# --------------------------------------------------------------------------- no set


def test_without_a_score_set_every_route_says_to_run_the_pipeline(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'credlink.db'}"
    engine = open_engine(url)
    migrate(engine)
    tokens = {role: create_key(engine, role, "清源县信用办").token for role in KeyRole}
    settings = Settings(work_dir=tmp_path, database_url=url, as_of=date(2026, 6, 30))
    uscc = "91110000600037341L"
    bank = {"X-API-Key": tokens[KeyRole.bank], **VALID_AUTHORIZATION}
    office = {"X-API-Key": tokens[KeyRole.credit_office]}
    calls: list[Callable[[TestClient], Any]] = [
        lambda c: c.get("/readyz"),
        lambda c: c.get(f"/v1/entities/{uscc}/risk", headers=office),
        lambda c: c.get(f"/v1/entities/{uscc}/risk", headers=bank),
        lambda c: c.get(f"/v1/entities/{uscc}/network?depth=2", headers=office),
        lambda c: c.get(f"/ui/entities/{uscc}", follow_redirects=False),
    ]
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        for call in calls[:4]:
            sequential = [call(client) for _ in range(10)]
            with ThreadPoolExecutor(8) as pool:
                concurrent = list(pool.map(lambda _: call(client), range(24)))  # noqa: B023
            for response in sequential + concurrent:
                assert response.status_code == 503, response.text
                error = response.json()["error"]
                assert error["code"] == "unavailable"
                assert "credlink pipeline run" in error["message"]
        # The pages ask for a login first; the models list answers (no set, no assessments).
        assert calls[4](client).status_code in (302, 303)
        listed = client.get("/v1/models", headers={"X-API-Key": tokens[KeyRole.analyst]})
        assert listed.status_code == 200 and listed.json()["answering"] == []
    engine.dispose()


# --------------------------------------------------------------------------- many times


def test_every_route_many_times_and_concurrently_answers_alike(champions: ApiCounty) -> None:
    grades = read_kind(champions.engine, "grades")
    uscc = str(grades.index[0])
    office = champions.headers(KeyRole.credit_office)
    bank = champions.headers(KeyRole.bank)
    bare_bank = champions.headers(KeyRole.bank, bank_authorization=False)
    analyst = champions.headers(KeyRole.analyst)
    batch = {"items": [{"uscc": u, "authorization": AUTH} for u in grades.index[:20]]}
    calls: dict[str, Callable[[TestClient], Any]] = {
        "risk (office)": lambda c: c.get(f"/v1/entities/{uscc}/risk", headers=office),
        "risk (bank)": lambda c: c.get(f"/v1/entities/{uscc}/risk", headers=bank),
        "network": lambda c: c.get(f"/v1/entities/{uscc}/network?depth=3", headers=bank),
        "assessment": lambda c: c.post(
            ASSESS, json={"uscc": uscc, "authorization": AUTH}, headers=bare_bank
        ),
        "batch": lambda c: c.post(BATCH, json=batch, headers=bare_bank),
        "readyz": lambda c: c.get("/readyz"),
        "models": lambda c: c.get("/v1/models", headers=analyst),
    }
    enterprises = read_table(champions.engine, "enterprises", columns=["uscc"])
    assert uscc in set(enterprises["uscc"])
    with TestClient(create_app(champions.settings)) as client:
        for name, call in calls.items():
            sequential = [call(client) for _ in range(15)]
            with ThreadPoolExecutor(8) as pool:
                concurrent = list(pool.map(lambda _: call(client), range(32)))  # noqa: B023
            bodies = []
            for response in sequential + concurrent:
                assert response.status_code == 200, (name, response.text)
                bodies.append(response.json())
            first = bodies[0]
            assert all(b == first for b in bodies), name


def test_a_new_set_shows_within_two_seconds(champions: ApiCounty) -> None:
    engine = champions.engine
    grades = read_kind(engine, "grades")
    uscc = str(grades.index[1])
    office = champions.headers(KeyRole.credit_office)
    with TestClient(create_app(champions.settings)) as client:
        before = client.get(f"/v1/entities/{uscc}/risk", headers=office)
        pointer = current(engine)
        assert pointer is not None
        new = _derived_set(engine, pointer.set_id, 7)
        published = time.monotonic()
        while True:
            after = client.get(f"/v1/entities/{uscc}/risk", headers=office)
            if after.headers[SCORE_SET_HEADER] == f"{new}.0":
                break
            assert time.monotonic() - published < 2.0, "the new set did not show within 2 s"
            time.sleep(0.05)
        assert after.json()["linked_risk"] == pytest.approx(before.json()["linked_risk"] + 7)
        ready = client.get("/readyz").json()
        assert ready["score_set"]["id"] == new and ready["graph"]["enterprises"] > 0
