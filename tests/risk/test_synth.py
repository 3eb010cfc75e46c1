"""Tests of the synthetic county (risk.synth): contract validity, shapes, determinism."""

from __future__ import annotations

from collections import deque
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk.contract import TABLES, ColumnKind, Role, domain_for_authority, zh_label
from risk.exceptions import InvalidIdentifierError
from risk.identifiers import check_uscc_array, validate_resident_id
from risk.publicity import active_mask, resolve_publicity
from risk.synth import County, SynthConfig, generate_county, write_county

END = date(2026, 6, 30)
DISHONEST = ("dishonest_debtor", "serious_dishonesty_list")


@pytest.fixture(scope="module")
def county() -> County:
    return generate_county(SynthConfig(enterprises=2000, seed=7))


@pytest.fixture(scope="module")
def lending_county() -> County:
    """Enough loans to measure rates: 5000 enterprises, half the active companies borrow."""
    return generate_county(SynthConfig(enterprises=5000, seed=3, loan_rate=0.5))


def _as_of(frame: pd.DataFrame, on: pd.Timestamp) -> pd.DataFrame:
    """Roles present on ``on``: start ≤ on < end."""
    return frame[(frame["start"] <= on) & (frame["end"].isna() | (frame["end"] > on))]


# -- determinism and shape ---------------------------------------------------------------------


def test_same_config_gives_identical_frames() -> None:
    config = SynthConfig(enterprises=300, seed=11)
    first, second = generate_county(config), generate_county(config)
    for name in TABLES:
        pd.testing.assert_frame_equal(first.tables[name], second.tables[name])
    pd.testing.assert_series_equal(first.hidden_risk, second.hidden_risk)


def test_different_seeds_differ() -> None:
    first = generate_county(SynthConfig(enterprises=300, seed=1))
    second = generate_county(SynthConfig(enterprises=300, seed=2))
    assert not first.tables["enterprises"]["uscc"].equals(second.tables["enterprises"]["uscc"])
    assert not first.tables["records"].equals(second.tables["records"])


def test_columns_are_exactly_the_contract(county: County) -> None:
    assert list(county.tables) == list(TABLES)
    for name, spec in TABLES.items():
        assert tuple(county.tables[name].columns) == spec.names, name
    assert len(county.tables["enterprises"]) == 2000
    assert all(len(county.tables[name]) > 0 for name in TABLES)


def test_hidden_risk_is_ground_truth_beside_the_tables(county: County) -> None:
    assert county.hidden_risk.index.equals(pd.Index(county.tables["enterprises"]["uscc"]))
    assert county.hidden_risk.notna().all()
    assert not any("hidden" in c for frame in county.tables.values() for c in frame.columns)


@pytest.mark.parametrize("name", list(TABLES))
def test_keys_are_unique(county: County, name: str) -> None:
    key = list(TABLES[name].key)
    assert not county.tables[name].duplicated(key).any()


# -- values pass the contract ------------------------------------------------------------------


def test_usccs_are_valid_unique_and_in_the_county(county: County) -> None:
    enterprises = county.tables["enterprises"]
    checked = check_uscc_array(enterprises["uscc"])
    assert checked["check"].isna().all()
    assert enterprises["uscc"].is_unique
    assert (enterprises["uscc"].str[2:8] == "341100").all()
    prefix = enterprises["uscc"].str[:2]
    kind = enterprises["kind"]
    assert (prefix[kind == "individual_business"] == "92").all()
    assert (prefix[kind.isin(["company", "branch", "partnership"])] == "91").all()
    assert prefix[kind == "social_org"].isin(["51", "52"]).all()


def test_references_resolve(county: County) -> None:
    t = county.tables
    usccs = set(t["enterprises"]["uscc"])
    persons = set(t["persons"]["person_id"])
    roles, records = t["roles"], t["records"]
    assert set(roles["uscc"]) <= usccs
    by_person = roles["holder_type"] == "person"
    assert set(roles.loc[by_person, "holder_id"]) <= persons
    assert set(roles.loc[~by_person, "holder_id"]) <= usccs
    on_person = records["subject_type"] == "person"
    assert set(records.loc[on_person, "subject_id"]) <= persons
    assert set(records.loc[~on_person, "subject_id"]) <= usccs
    assert set(t["financials"]["uscc"]) <= usccs
    assert set(t["loans"]["uscc"]) <= usccs


def test_enums_and_kinds_follow_the_contract(county: County) -> None:
    for name, spec in TABLES.items():
        frame = county.tables[name]
        for column in spec.columns:
            values = frame[column.name]
            if not column.nullable:
                assert values.notna().all(), f"{name}.{column.name}"
            present = values.dropna()
            if column.kind is ColumnKind.enum and column.enum is not None:
                assert set(present) <= {m.value for m in column.enum}, f"{name}.{column.name}"
            elif column.kind is ColumnKind.share:
                assert present.between(0, 1).all(), f"{name}.{column.name}"
            elif column.kind in (ColumnKind.number, ColumnKind.integer):
                assert (present >= 0).all(), f"{name}.{column.name}"
            elif column.kind is ColumnKind.region:
                assert present.str.fullmatch(r"\d{6}").all()
            elif column.kind is ColumnKind.industry:
                assert present.str.fullmatch(r"[A-T]").all()
            elif column.kind is ColumnKind.period:
                assert present.str.fullmatch(r"\d{4}").all()
            elif column.kind is ColumnKind.text:
                assert (present.str.len() <= column.max_length).all(), f"{name}.{column.name}"
    assert county.tables["records"]["regime"].isna().all()  # ingest derives it


def test_authorities_match_their_domains(county: County) -> None:
    records = county.tables["records"]
    inferred = records["authority"].map(lambda a: domain_for_authority(a).value)
    assert (inferred == records["domain"]).all()


def test_no_event_after_the_as_of_date(county: County) -> None:
    t, end = county.tables, pd.Timestamp(END)
    events = {
        "enterprises": ["founded", "closed"],
        "roles": ["start", "end"],
        "records": ["decided", "repaired", "removed"],
        "loans": ["applied", "status_date"],
    }
    for name, columns in events.items():
        for column in columns:
            assert (t[name][column].dropna() <= end).all(), f"{name}.{column}"
    assert (t["financials"]["period"].astype(int) < END.year).all()


def test_dates_are_ordered(county: County) -> None:
    t = county.tables
    ent, roles, records, loans = t["enterprises"], t["roles"], t["records"], t["loans"]
    closed = ent.dropna(subset=["closed"])
    assert (closed["closed"] >= closed["founded"]).all()
    assert (ent["closed"].notna() == (ent["status"] != "active")).all()
    assert (roles["end"].dropna() >= roles.loc[roles["end"].notna(), "start"]).all()
    for column in ("publicity_end", "repaired", "removed"):
        given = records[column].notna()
        assert (records.loc[given, column] >= records.loc[given, "decided"]).all(), column
    assert (loans["status_date"] >= loans["applied"]).all()
    assert (
        loans["drawn_amount"].dropna()
        <= loans.loc[loans["drawn_amount"].notna(), "approved_amount"]
    ).all()
    assert loans["term_months"].between(6, 36).all()


def test_no_raw_resident_id_is_stored(county: County) -> None:
    persons = county.tables["persons"]
    assert persons["person_id"].str.fullmatch(r"P\d{6}").all()
    assert persons["id_masked"].str.fullmatch(r"\d{6}\*{8}\d{3}[\dX]").all()
    assert persons["id_hash"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert persons["id_hash"].is_unique
    for frame in county.tables.values():
        for column in frame.columns:
            if frame[column].dtype != "str":
                continue
            candidates = frame[column].dropna()
            for value in candidates[candidates.str.fullmatch(r"\d{17}[\dX]")]:
                with pytest.raises(InvalidIdentifierError):
                    validate_resident_id(value)  # an 18-digit value here must not be a real ID


def test_person_names_are_chinese(county: County) -> None:
    assert county.tables["persons"]["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()


# -- graph shapes ------------------------------------------------------------------------------


def test_individual_businesses_have_no_shareholders(county: County) -> None:
    t = county.tables
    kinds = t["enterprises"].set_index("uscc")["kind"]
    holders = t["roles"].loc[t["roles"]["role"] == "shareholder", "uscc"].map(kinds)
    assert not holders.isin(["individual_business", "branch", "social_org"]).any()


def test_branches_hang_off_a_parent_company(county: County) -> None:
    t = county.tables
    kinds = t["enterprises"].set_index("uscc")["kind"]
    edges = t["roles"][t["roles"]["role"] == "branch_of"]
    branches = set(kinds[kinds == "branch"].index)
    assert set(edges["uscc"]) == branches
    assert (edges["holder_type"] == "enterprise").all()
    assert (edges["holder_id"].map(kinds) == "company").all()


def test_one_legal_rep_at_a_time(county: County) -> None:
    t = county.tables
    reps = t["roles"][t["roles"]["role"] == Role.legal_rep]
    assert (reps["holder_type"] == "person").all()
    active = t["enterprises"][t["enterprises"]["status"] == "active"]
    present = _as_of(reps, pd.Timestamp(END)).groupby("uscc").size()
    assert (present.reindex(active["uscc"], fill_value=0) == 1).all()
    # Successive legal reps never overlap: each term ends when the next one starts.
    ordered = reps.sort_values(["uscc", "start"])
    following = ordered.groupby("uscc")["start"].shift(-1)
    changed = following.notna()
    assert (ordered.loc[changed, "end"] == following[changed]).all()
    assert changed.any()  # some enterprises changed legal rep


def test_shares_per_company_never_exceed_one(county: County) -> None:
    shares = county.tables["roles"].query("role == 'shareholder'")
    assert shares["share"].notna().all()
    assert (shares.groupby("uscc")["share"].sum() <= 1 + 1e-9).all()
    assert (_as_of(shares, pd.Timestamp(END)).groupby("uscc")["share"].sum() <= 1 + 1e-9).all()


def test_ownership_has_chains_and_a_cycle(county: County) -> None:
    roles = county.tables["roles"]
    owned = roles[(roles["role"] == "shareholder") & (roles["holder_type"] == "enterprise")]
    edges = list(zip(owned["holder_id"], owned["uscc"], strict=True))
    nodes = {n for edge in edges for n in edge}
    indegree = dict.fromkeys(nodes, 0)
    children: dict[str, list[str]] = {n: [] for n in nodes}
    for holder, held in edges:
        indegree[held] += 1
        children[holder].append(held)
    # Kahn's algorithm: nodes left over sit on (or behind) a cycle; depth tracks chain length.
    queue = deque(n for n, d in indegree.items() if d == 0)
    depth = dict.fromkeys(queue, 0)
    removed = 0
    while queue:
        node = queue.popleft()
        removed += 1
        for child in children[node]:
            depth[child] = max(depth.get(child, 0), depth[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    assert removed < len(nodes), "no ownership cycle"
    assert max(depth.values()) >= 3, "no holding chain three levels deep"


def test_most_persons_hold_one_enterprise_and_a_few_hold_many(county: County) -> None:
    roles = county.tables["roles"]
    degree = roles[roles["holder_type"] == "person"].groupby("holder_id")["uscc"].nunique()
    assert (degree == 1).mean() > 0.8
    assert degree.max() >= 10


def test_shell_pattern_exists(county: County) -> None:
    """换壳: a young company controlled by the legal rep of a dishonest enterprise."""
    t = county.tables
    records = t["records"]
    dishonest = records[records["kind"].isin(DISHONEST) & (records["subject_type"] == "enterprise")]
    first = dishonest.groupby("subject_id")["decided"].min()
    roles = t["roles"]
    reps = roles[(roles["role"] == "legal_rep") & roles["uscc"].isin(first.index)]
    tainted = reps.assign(listed=reps["uscc"].map(first))[["holder_id", "listed"]]
    founded = t["enterprises"].set_index("uscc")["founded"]
    control = roles[
        (roles["holder_type"] == "person")
        & ((roles["role"] == "legal_rep") | (roles["share"] >= 0.5))
    ]
    young = control[control["uscc"].map(founded) >= pd.Timestamp(END) - pd.DateOffset(years=3)]
    pairs = young.merge(tainted, on="holder_id")
    shells = pairs[pairs["uscc"].map(founded) > pairs["listed"]]
    assert shells["uscc"].nunique() >= 2


# -- records -----------------------------------------------------------------------------------


def test_record_mix_is_plausible(county: County) -> None:
    records = county.tables["records"]
    kinds = records["kind"].value_counts()
    assert kinds.idxmax() == "administrative_penalty"
    for kind in (
        "license",
        "commitment",
        "red_list",
        "commitment_breach",
        "wage_arrears",
        "tax_arrears",
        "abnormal_operation",
        "consumption_restriction",
    ):
        assert kinds.get(kind, 0) > 0, kind
    severity = records.loc[records["kind"] == "administrative_penalty", "severity"].value_counts(
        normalize=True
    )
    assert severity["serious"] < 0.15 < severity["minor"]
    assert 0 < (records["subject_type"] == "person").mean() < 0.15
    assert records["publicity_end"].notna().any() and records["publicity_end"].isna().any()
    assert records["repaired"].notna().any()
    assert records.loc[records["kind"] == "dishonest_debtor", "removed"].notna().any()


def test_risk_is_persistent(county: County) -> None:
    records = county.tables["records"]
    penalties = records[records["kind"] == "administrative_penalty"]
    per_domain = penalties.groupby(["subject_id", "domain"]).size()
    assert (per_domain >= 3).any()  # repeat offenders in one domain
    assert (penalties.groupby("subject_id")["domain"].nunique() >= 3).any()  # and across domains
    counts = penalties["subject_id"].value_counts().reindex(county.hidden_risk.index, fill_value=0)
    assert np.corrcoef(county.hidden_risk, counts)[0, 1] > 0.2


def test_serious_dishonesty_list_is_under_one_percent(county: County) -> None:
    t, end = county.tables, pd.Timestamp(END)
    listed = t["records"][t["records"]["kind"] == "serious_dishonesty_list"].reset_index(drop=True)
    assert len(listed) > 0
    resolved = resolve_publicity(listed)
    active = active_mask(
        listed["decided"], resolved["publicity_end"], listed["repaired"], listed["removed"], end
    )
    live = t["enterprises"].loc[t["enterprises"]["status"] == "active", "uscc"]
    assert listed.loc[active, "subject_id"].isin(live).nunique() / len(live) < 0.01


def test_financials_follow_the_enterprises(county: County) -> None:
    t = county.tables
    fin = t["financials"].merge(t["enterprises"], on="uscc")
    assert not (fin["kind"] == "branch").any()
    assert (fin["period"].astype(int) >= fin["founded"].dt.year).all()
    assert (fin["procurement_amount"] == 0).mean() > 0.8
    for column in ("tax_paid", "tax_grade", "insured_employees", "utility_on_time"):
        assert fin[column].isna().any(), column
    ranks = {"A": 0, "B": 1, "M": 2, "C": 3, "D": 4}
    graded = fin.dropna(subset=["tax_grade"])
    risk = graded["uscc"].map(county.hidden_risk)
    assert np.corrcoef(graded["tax_grade"].map(ranks), risk)[0, 1] > 0.2


# -- loans -------------------------------------------------------------------------------------


def _bad(loans: pd.DataFrame) -> pd.Series:
    return loans["status"].isin(["overdue_90", "default"])


def test_loan_bad_rate_is_sane(lending_county: County) -> None:
    loans = lending_county.tables["loans"]
    assert len(loans) > 1000
    assert 0.04 <= _bad(loans).mean() <= 0.11
    assert loans["loan_id"].is_unique
    assert loans["bank"].str.contains("银行").all()


def test_linked_dishonesty_raises_default(lending_county: County) -> None:
    """Loans whose legal rep or shareholder is tied to a dishonest company go bad more often."""
    t = lending_county.tables
    records, roles, loans = t["records"], t["roles"], t["loans"]
    dishonest = records[records["kind"].isin(DISHONEST) & (records["subject_type"] == "enterprise")]
    first = dishonest.groupby("subject_id")["decided"].min()
    control = roles[
        roles["role"].isin(["legal_rep", "shareholder"]) & (roles["holder_type"] == "person")
    ]
    ties = roles.loc[roles["holder_type"] == "person", ["holder_id", "uscc"]].drop_duplicates()
    links = (
        loans[["loan_id", "uscc", "applied"]]
        .merge(control[["uscc", "holder_id"]], on="uscc")
        .merge(ties.rename(columns={"uscc": "other"}), on="holder_id")
    )
    links = links[(links["other"] != links["uscc"])]
    hit = links[links["other"].map(first) < links["applied"]]["loan_id"].unique()
    linked = loans["loan_id"].isin(hit)
    assert linked.sum() >= 20
    assert _bad(loans[linked]).mean() > 1.5 * _bad(loans[~linked]).mean()


def test_declined_applicants_are_absent(lending_county: County) -> None:
    """No funded loan went to an enterprise on an active dishonest-debtor record."""
    t = lending_county.tables
    records = t["records"]
    blocking = records[
        (records["kind"] == "dishonest_debtor") & (records["subject_type"] == "enterprise")
    ].reset_index(drop=True)
    pairs = t["loans"].merge(blocking, left_on="uscc", right_on="subject_id")
    resolved = resolve_publicity(pairs)
    active = active_mask(
        pairs["decided"],
        resolved["publicity_end"],
        pairs["repaired"],
        pairs["removed"],
        pairs["applied"],
    )
    assert not active.any()


# -- writing -----------------------------------------------------------------------------------


def test_write_english_headers(tmp_path: Path) -> None:
    small = generate_county(SynthConfig(enterprises=200, seed=5))
    paths = write_county(small, tmp_path)
    assert list(paths) == list(TABLES)
    for name, path in paths.items():
        assert path == tmp_path / f"{name}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert tuple(frame.columns) == TABLES[name].names
        assert len(frame) == len(small.tables[name])
    enterprises = pd.read_csv(paths["enterprises"], dtype=str, keep_default_na=False)
    assert enterprises["founded"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert (enterprises["closed"] == "").any()
    truth = pd.read_csv(tmp_path / "hidden_risk.csv", dtype={"uscc": str})
    assert list(truth.columns) == ["uscc", "hidden_risk"]
    assert truth["uscc"].tolist() == small.tables["enterprises"]["uscc"].tolist()


def test_write_chinese_headers_and_labels(tmp_path: Path) -> None:
    small = generate_county(SynthConfig(enterprises=200, seed=5))
    paths = write_county(small, tmp_path, headers="zh")
    for name, spec in TABLES.items():
        frame = pd.read_csv(paths[name], dtype=str, keep_default_na=False)
        assert list(frame.columns) == [c.zh[0] for c in spec.columns]
    enterprises = pd.read_csv(paths["enterprises"], dtype=str, keep_default_na=False)
    labels = {zh_label(k) for k in TABLES["enterprises"].column("kind").enum or ()}
    assert set(enterprises["市场主体类型"]) <= labels
    records = pd.read_csv(paths["records"], dtype=str, keep_default_na=False)
    assert "行政处罚" in set(records["信用记录类型"])
    assert (records["行政处罚决定书文号"].str.len() > 0).all()


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"enterprises": "20"}, TypeError, "enterprises must be an int; got str"),
        ({"enterprises": True}, TypeError, "enterprises must be an int; got bool"),
        ({"enterprises": 5}, ValueError, r"enterprises must be an int in \[10, .*\]; got 5"),
        ({"years": 0}, ValueError, r"years must be an int in \[1, 30\]; got 0"),
        ({"seed": -1}, ValueError, "seed must be an int in"),
        ({"end": datetime(2026, 1, 1)}, TypeError, "end must be a datetime.date; got datetime"),
        ({"end": "2026-06-30"}, TypeError, "end must be a datetime.date; got str"),
        ({"end": date(1999, 1, 1)}, ValueError, "end must be a date in"),
        ({"region": 341100}, TypeError, "region must be a str; got int"),
        ({"region": "3411"}, ValueError, "region must be a 6-digit GB/T 2260 code"),
        ({"region": "991100"}, ValueError, "region must be a 6-digit GB/T 2260 code"),
        ({"id_salt": "salt-salt-salt-salt"}, TypeError, "id_salt must be bytes; got str"),
        ({"id_salt": b"short"}, ValueError, "id_salt must be at least 16 bytes; got 5"),
        ({"county_name": 1}, TypeError, "county_name must be a str; got int"),
        ({"county_name": "县"}, ValueError, "county_name must be 2-12 characters"),
        ({"kind_mix": "company"}, TypeError, "kind_mix must be a tuple of 5 floats"),
        ({"kind_mix": (0.5, 0.5, 0.5, 0, 0)}, ValueError, "kind_mix must be 5 shares"),
        ({"kind_mix": (0.0, 1.0, 0, 0, 0)}, ValueError, "company > 0"),
        ({"kind_mix": (0.5, "x", 0, 0, 0.5)}, TypeError, r"kind_mix\[1\] must be a real number"),
        ({"closed_rate": "0.1"}, TypeError, "closed_rate must be a real number; got str"),
        ({"closed_rate": False}, TypeError, "closed_rate must be a real number; got bool"),
        ({"closed_rate": 1.5}, ValueError, r"closed_rate must be in \[0, 0.9\]; got 1.5"),
        ({"repair_share": -0.1}, ValueError, r"repair_share must be in \[0, 1\]"),
        ({"serious_list_rate": 0.01}, ValueError, r"serious_list_rate .* \[0, 0.01\); got 0.01"),
        ({"serial_degree_alpha": 1.0}, ValueError, r"serial_degree_alpha .* \(1, 10\]"),
        ({"loan_bad_rate": 0.0}, ValueError, r"loan_bad_rate must be in \(0, 0.5\]"),
        ({"penalty_rate": float("nan")}, ValueError, "penalty_rate must be finite; got nan"),
    ],
)
def test_config_validation(
    changes: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        SynthConfig(**changes)  # type: ignore[arg-type]


def test_config_accepts_ints_for_floats_and_lists_for_the_mix() -> None:
    config = SynthConfig(closed_rate=0, kind_mix=[1, 0, 0, 0, 0])  # type: ignore[arg-type]
    assert config.closed_rate == 0.0 and isinstance(config.closed_rate, float)
    assert config.kind_mix == (1.0, 0.0, 0.0, 0.0, 0.0)


def test_generate_and_write_check_their_arguments(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="config must be a SynthConfig; got dict"):
        generate_county({"enterprises": 10})  # type: ignore[arg-type]
    small = generate_county(SynthConfig(enterprises=10, seed=1))
    assert len(small.tables["enterprises"]) == 10
    with pytest.raises(ValueError, match="headers must be 'en' or 'zh'; got 'fr'"):
        write_county(small, tmp_path, headers="fr")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="county must be a County; got dict"):
        write_county({}, tmp_path)  # type: ignore[arg-type]
