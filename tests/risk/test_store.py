"""Tests for risk.store: the Alembic-migrated schema, the SQLite pragmas and read_table.

Every test that touches a database runs on SQLite and on PostgreSQL (the ``store_url`` /
``engine`` fixtures of ``tests/conftest.py``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    Date,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

import risk.store
from risk.contract import TABLES, ColumnKind
from risk.exceptions import MigrationRefusedError
from risk.store import (
    api_keys,
    audit_log,
    contract_table,
    ingest_batches,
    metadata,
    migrate,
    open_engine,
    quarantine,
    read_table,
)

MIGRATIONS = Path(risk.store.__file__).parent / "migrations"
BOOKKEEPING = {"ingest_batches", "quarantine", "external_parties"}
WARNING_TABLES = {"warnings", "warning_events"}  # risk.warnings (revision 0002)
API_TABLES = {"api_keys", "audit_log"}  # serving: keys and the bank audit (revision 0003)
OUTCOME_TABLES = {"outcome_reports"}  # loans reported through the API (revision 0004)
SESSION_TABLES = {"ui_sessions", "login_failures"}  # serving: web sessions, lockout (0005)
SCORE_TABLES = {"score_sets", "score_pointer", "score_events"} | {
    f"score_{kind}" for kind in ("risk", "grades", "warnings", "learned", "assessments")
}
# 91110000600037341L is the valid example of DESIGN.md §2 (worked out in test_identifiers.py).
USCC = "91110000600037341L"
USCC_2 = "91340321MA0000002E"


def _is_date(series: pd.Series) -> bool:
    """Dates come back as naive datetime64 (whatever the unit), never as object."""
    return series.dtype.kind == "M" and getattr(series.dtype, "tz", None) is None


def _head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


# --------------------------------------------------------------------------- schema


def test_migrate_on_empty_database_creates_every_contract_table(store_url: str) -> None:
    engine = open_engine(store_url)
    try:
        assert inspect(engine).get_table_names() == []
        migrate(engine)
        insp = inspect(engine)
        assert set(insp.get_table_names()) == {
            *TABLES,
            *BOOKKEEPING,
            *WARNING_TABLES,
            *API_TABLES,
            *OUTCOME_TABLES,
            *SESSION_TABLES,
            *SCORE_TABLES,
            "alembic_version",
        }

        for name, spec in TABLES.items():
            columns = {c["name"]: c for c in insp.get_columns(name)}
            assert list(columns) == list(spec.names), name
            assert insp.get_pk_constraint(name)["constrained_columns"] == list(spec.key), name
            for col in spec.columns:
                reflected = columns[col.name]
                # Key columns are never NULL, whatever the contract says of the cell.
                expect_nullable = col.nullable and col.name not in spec.key
                assert reflected["nullable"] is expect_nullable, (name, col.name)
                sql_type = reflected["type"]
                if col.kind == ColumnKind.date:
                    assert isinstance(sql_type, Date), (name, col.name, sql_type)
                elif col.kind in (ColumnKind.number, ColumnKind.share):
                    assert isinstance(sql_type, Float), (name, col.name, sql_type)
                elif col.kind == ColumnKind.integer:
                    assert isinstance(sql_type, Integer), (name, col.name, sql_type)
                else:
                    assert isinstance(sql_type, String), (name, col.name, sql_type)
        # Identifier widths come from the standards, not from a default.
        enterprise_cols = {c["name"]: c["type"] for c in insp.get_columns("enterprises")}
        assert enterprise_cols["uscc"].length == 18
        assert enterprise_cols["region"].length == 6
        assert enterprise_cols["industry"].length == 1

        indexes = {
            table: {ix["name"]: ix["column_names"] for ix in insp.get_indexes(table)}
            for table in ("records", "roles", "loans", "quarantine")
        }
        assert indexes["records"]["ix_records_subject"] == ["subject_id"]
        assert indexes["roles"]["ix_roles_holder"] == ["holder_id"]
        assert indexes["loans"]["ix_loans_uscc"] == ["uscc"]
        assert indexes["quarantine"]["ix_quarantine_batch_id"] == ["batch_id"]
        (fk,) = insp.get_foreign_keys("quarantine")
        assert fk["constrained_columns"] == ["batch_id"]
        assert fk["referred_table"] == "ingest_batches"
        assert fk["referred_columns"] == ["id"]

        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == _head_revision()
    finally:
        engine.dispose()


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(contract_table("enterprises")),
            {
                "uscc": USCC,
                "name": "北京某某有限公司",
                "kind": "company",
                "status": "active",
                "region": "110000",
                "founded": date(2001, 5, 8),
            },
        )
    tables_before = sorted(inspect(engine).get_table_names())

    migrate(engine)  # already at head

    assert sorted(inspect(engine).get_table_names()) == tables_before
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == _head_revision()
        assert conn.execute(select(func.count()).select_from(ingest_batches)).scalar_one() == 0
    assert read_table(engine, "enterprises")["uscc"].tolist() == [USCC]


def test_migration_scripts_match_the_models(engine: Engine) -> None:
    # The Alembic scripts must build exactly risk.store.metadata (columns, types, keys, indexes).
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def _downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_downgrade_to_0002_drops_the_api_tables_and_upgrade_restores_them(engine: Engine) -> None:
    _downgrade(engine, "0002")
    assert API_TABLES.isdisjoint(inspect(engine).get_table_names())
    migrate(engine)
    assert set(inspect(engine).get_table_names()) >= API_TABLES
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def _records_at_0006() -> Table:
    """The records table as revision 0006 left it: keyed by record_id, authority nullable."""
    return Table(
        "records",
        MetaData(),
        Column("record_id", String(100), primary_key=True),
        *(
            Column(name, String(64))
            for name in ("subject_type", "subject_id", "kind", "domain", "severity", "authority")
        ),
        Column("decided", Date),
    )


def test_migration_0007_keys_records_by_authority_and_keeps_every_row(engine: Engine) -> None:
    _downgrade(engine, "0006")
    old = _records_at_0006()
    row = {"subject_type": "enterprise", "subject_id": USCC, "kind": "administrative_penalty"}
    row |= {"domain": "market_regulation", "severity": "general", "decided": date(2025, 3, 1)}
    with engine.begin() as conn:
        conn.execute(
            insert(old),
            [
                {**row, "record_id": "罚〔2025〕1号", "authority": "来安县市场监督管理局"},
                {**row, "record_id": "罚〔2025〕2号", "authority": None},  # allowed before 0007
            ],
        )

    migrate(engine)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    assert inspect(engine).get_pk_constraint("records")["constrained_columns"] == [
        "record_id",
        "authority",
    ]
    kept = read_table(engine, "records").sort_values("record_id")
    assert kept["authority"].tolist() == ["来安县市场监督管理局", ""]  # every row, none lost
    assert kept["subject_id"].tolist() == [USCC, USCC]
    records = contract_table("records")
    with engine.begin() as conn:  # another authority's record with the same 文号 now fits
        conn.execute(
            insert(records),
            {**row, "record_id": "罚〔2025〕1号", "authority": "来安县生态环境分局"},
        )
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(
                insert(records),
                {**row, "record_id": "罚〔2025〕1号", "authority": "来安县生态环境分局"},
            )
    assert len(read_table(engine, "records")) == 3

    # Two authorities share 罚〔2025〕1号: the downgrade is refused, saying so, and changes nothing.
    # 0008's downgrade on its own first: pysqlite commits DDL as it goes, so 0008's batch
    # rebuild of roles would stay half done behind a refusal in the same run.
    _downgrade(engine, "0007")
    with pytest.raises(
        MigrationRefusedError, match=r"refused: 1 文号 \(record_id\) are shared .*\(2 records\)"
    ):
        _downgrade(engine, "0006")
    assert inspect(engine).get_pk_constraint("records")["constrained_columns"] == [
        "record_id",
        "authority",
    ]
    assert len(read_table(engine, "records")) == 3

    with engine.begin() as conn:  # the downgrade needs 文号 unique again
        conn.execute(delete(records).where(records.c.authority == "来安县生态环境分局"))
    _downgrade(engine, "0006")
    with engine.connect() as conn:
        back = {r.record_id: r.authority for r in conn.execute(select(old))}
    assert back == {"罚〔2025〕1号": "来安县市场监督管理局", "罚〔2025〕2号": None}
    migrate(engine)


def _roles_at_0007() -> Table:
    """The roles table as revision 0007 left it: an 18-character uscc, no directness."""
    return Table(
        "roles",
        MetaData(),
        *(Column(n, String(64)) for n in ("uscc", "holder_type", "holder_id", "role")),
        Column("share", Float),
        Column("start", Date),
        Column("end", Date),
    )


def test_migration_0008_keeps_every_role_and_keys_roles_by_directness(engine: Engine) -> None:
    _downgrade(engine, "0007")
    row = {"uscc": USCC, "holder_type": "person", "holder_id": "P1", "role": "shareholder"}
    with engine.begin() as conn:
        conn.execute(insert(_roles_at_0007()), {**row, "share": 0.1, "start": date(2020, 1, 1)})

    migrate(engine)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    assert inspect(engine).get_pk_constraint("roles")["constrained_columns"] == list(
        TABLES["roles"].key
    )
    kept = read_table(engine, "roles")
    assert kept[["holder_id", "directness"]].values.tolist() == [["P1", "direct"]]
    with engine.begin() as conn:  # the same holder's indirect interest of that day fits
        conn.execute(
            insert(contract_table("roles")),
            {**row, "share": 0.2, "start": date(2020, 1, 1), "directness": "indirect"},
        )
    assert sorted(read_table(engine, "roles")["directness"]) == ["direct", "indirect"]


def test_migration_0008_downgrade_refuses_what_0007_cannot_hold(engine: Engine) -> None:
    roles = contract_table("roles")
    row = {"holder_type": "enterprise", "role": "shareholder", "start": date(2020, 1, 1)}
    row |= {"directness": "direct"}
    with engine.begin() as conn:
        conn.execute(
            risk.store.external_parties.insert(),
            {
                "party_id": "GB-COH-06292597",
                "party_type": "enterprise",
                "source": "BODS uk.json",
                "updated_at": datetime.now(UTC),
            },
        )
        conn.execute(
            insert(roles),
            [
                {**row, "uscc": USCC, "holder_id": "GB-COH-06292597", "share": 0.5},
                {**row, "uscc": USCC, "holder_id": USCC_2, "share": 0.3, "directness": "indirect"},
                {**row, "uscc": USCC_2, "holder_id": USCC, "share": 1.0},
            ],
        )
    _downgrade(engine, "0008")  # 0009's on its own first (see the 0007 test)
    with pytest.raises(
        MigrationRefusedError,
        match=r"refused: roles holds 1 role\(s\) of or held by an "
        r"external party and 1 declared indirect interest\(s\)",
    ):
        _downgrade(engine, "0007")
    assert len(read_table(engine, "roles")) == 3  # nothing changed
    assert "external_parties" in inspect(engine).get_table_names()

    with engine.begin() as conn:  # as the message says
        conn.execute(
            delete(roles).where(
                (roles.c.directness == "indirect") | (roles.c.holder_id == "GB-COH-06292597")
            )
        )
    _downgrade(engine, "0007")
    with engine.connect() as conn:
        back = conn.execute(select(_roles_at_0007())).all()
    assert [(r.uscc, r.holder_id, r.share) for r in back] == [(USCC_2, USCC, 1.0)]
    assert "external_parties" not in inspect(engine).get_table_names()
    migrate(engine)


def test_audit_log_is_append_only(engine: Engine) -> None:
    # The triggers of revision 0003 refuse UPDATE and DELETE on both backends.
    now = datetime(2026, 6, 30, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        key_id = conn.execute(
            insert(api_keys).returning(api_keys.c.id),
            {
                "prefix": "clk_abcdefgh",
                "key_hash": "0" * 64,
                "role": "bank",
                "institution": "某农商银行",
                "created_at": now,
            },
        ).scalar_one()
        conn.execute(
            insert(audit_log),
            {
                "at": now,
                "request_id": "r" * 32,
                "key_id": key_id,
                "institution": "某农商银行",
                "role": "bank",
                "uscc": USCC,
                "method": "GET",
                "route": "/v1/entities/{uscc}/risk",
                "status": 200,
                "response_sha256": "f" * 64,
            },
        )
    for statement in (update(audit_log).values(status=500), delete(audit_log)):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(select(audit_log.c.status)).scalars().all() == [200]


def test_quarantine_rows_must_belong_to_a_batch(engine: Engine) -> None:
    # SQLite enforces the foreign key only with PRAGMA foreign_keys=ON (set by open_engine).
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(quarantine),
            {"batch_id": 999, "source": "x.csv", "row_number": 2, "reason": "r", "raw": {}},
        )


def test_sqlite_store_uses_wal_and_creates_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "store.db"
    engine = open_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
        assert path.exists()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL: durable
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- read_table


def test_read_table_returns_contract_dtypes(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(contract_table("enterprises")),
            [
                {
                    "uscc": USCC,
                    "name": "北京某某有限公司",
                    "kind": "company",
                    "status": "deregistered",
                    "industry": "C",
                    "region": "110000",
                    "registered_capital": 250.5,
                    "founded": date(2001, 5, 8),
                    "closed": date(2023, 12, 31),
                },
                {
                    "uscc": "914403001922038216",
                    "name": "深圳某某有限公司",
                    "kind": "company",
                    "status": "active",
                    "industry": None,
                    "region": "440300",
                    "registered_capital": None,
                    "founded": date(1988, 1, 2),
                    "closed": None,
                },
            ],
        )
        conn.execute(
            insert(contract_table("financials")),
            [
                {"uscc": USCC, "period": "2024", "insured_employees": 12},
                {"uscc": USCC, "period": "2024Q1", "insured_employees": None},
            ],
        )

    frame = read_table(engine, "enterprises").sort_values("uscc").reset_index(drop=True)
    assert list(frame.columns) == list(TABLES["enterprises"].names)
    assert _is_date(frame["founded"])
    assert _is_date(frame["closed"])
    assert frame["registered_capital"].dtype == np.dtype("float64")
    assert frame["uscc"].dtype == object
    assert frame["founded"].tolist() == [pd.Timestamp("2001-05-08"), pd.Timestamp("1988-01-02")]
    assert frame.loc[0, "closed"] == pd.Timestamp("2023-12-31")
    assert pd.isna(frame.loc[1, "closed"])
    assert np.isnan(frame.loc[1, "registered_capital"])
    assert frame.loc[1, "industry"] is None  # missing text is None, not NaN

    fin = read_table(engine, "financials").sort_values("period").reset_index(drop=True)
    assert str(fin["insured_employees"].dtype) == "Int64"
    assert fin["insured_employees"].iloc[0] == 12
    assert fin["insured_employees"].isna().tolist() == [False, True]


def test_read_table_columns_and_where(engine: Engine) -> None:
    table = contract_table("loans")
    with engine.begin() as conn:
        conn.execute(
            insert(table),
            [
                {
                    "loan_id": f"L{i}",
                    "uscc": USCC,
                    "bank": "某农商银行",
                    "applied": date(2024, 1, i),
                    "approved_amount": 100.0 * i,
                    "drawn_amount": None,
                    "term_months": 12,
                    "status": "performing",
                    "status_date": date(2024, 6, 30),
                }
                for i in (1, 2, 3)
            ],
        )
    with engine.connect() as conn:  # a Connection works as well as an Engine
        frame = read_table(
            conn, "loans", columns=["loan_id", "applied"], where=[table.c.approved_amount > 150]
        )
    frame = frame.sort_values("loan_id").reset_index(drop=True)
    assert list(frame.columns) == ["loan_id", "applied"]
    assert frame["loan_id"].tolist() == ["L2", "L3"]
    assert _is_date(frame["applied"])


def test_read_table_of_an_empty_table_still_has_contract_dtypes(engine: Engine) -> None:
    frame = read_table(engine, "records")
    assert frame.empty
    assert list(frame.columns) == list(TABLES["records"].names)
    assert _is_date(frame["decided"])
    assert frame["amount"].dtype == np.dtype("float64")


def test_ingest_batches_keeps_timezone_aware_times(engine: Engine) -> None:
    started = datetime(2026, 4, 1, 8, 30, tzinfo=UTC)
    with engine.begin() as conn:
        batch_id = conn.execute(
            insert(ingest_batches).returning(ingest_batches.c.id),
            {
                "source": "a.csv",
                "sha256": "0" * 64,
                "table_name": "enterprises",
                "started_at": started,
                "status": "ok",
            },
        ).scalar_one()
        row = conn.execute(select(ingest_batches).where(ingest_batches.c.id == batch_id)).one()
    # Counters default to 0 (the model's defaults, applied on insert).
    assert (row.rows_read, row.inserted, row.updated, row.unchanged) == (0, 0, 0, 0)
    assert (row.quarantined, row.orphans) == (0, 0)
    stored = row.started_at
    if stored.tzinfo is None:  # SQLite has no timezone type; the value is kept as given
        stored = stored.replace(tzinfo=UTC)
    assert stored == started


# --------------------------------------------------------------------------- contract_table


def test_contract_table_returns_the_metadata_table() -> None:
    for name in TABLES:
        assert contract_table(name) is metadata.tables[name]


def test_contract_table_unknown_name_raises_key_error() -> None:
    with pytest.raises(KeyError, match=r"table must be one of enterprises, .*loans; got 'nope'"):
        contract_table("nope")


def _loans_at_0008() -> Table:
    """The loans table as revision 0008 left it: the latest status only."""
    return Table(
        "loans",
        MetaData(),
        *(Column(n, String(200)) for n in ("loan_id", "uscc", "bank", "status")),
        Column("applied", Date),
        Column("approved_amount", Float),
        Column("drawn_amount", Float),
        Column("term_months", Integer),
        Column("status_date", Date),
    )


_LOAN = {"uscc": USCC, "bank": "清源农商银行", "applied": date(2024, 1, 1)}
_LOAN |= {"approved_amount": 50.0, "drawn_amount": 50.0, "term_months": 12}


def test_migration_0009_back_fills_the_first_bad_dates_from_the_latest_status(
    engine: Engine,
) -> None:
    _downgrade(engine, "0008")
    with engine.begin() as conn:
        conn.execute(
            insert(_loans_at_0008()),
            [
                {**_LOAN, "loan_id": "L1", "status": "overdue_90", "status_date": date(2024, 8, 1)},
                {**_LOAN, "loan_id": "L2", "status": "default", "status_date": date(2024, 12, 1)},
                {**_LOAN, "loan_id": "L3", "status": "performing", "status_date": date(2025, 1, 1)},
            ],
        )

    migrate(engine)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    kept = read_table(engine, "loans").set_index("loan_id").sort_index()
    assert kept["overdue_90_date"].tolist()[:1] == [pd.Timestamp("2024-08-01")]
    assert kept["overdue_90_date"].isna().tolist() == [False, True, True]
    assert kept["default_date"].isna().tolist() == [True, False, True]
    assert kept.loc["L2", "default_date"] == pd.Timestamp("2024-12-01")


def test_migration_0009_downgrade_refuses_to_forget_a_cured_loan(engine: Engine) -> None:
    loans = contract_table("loans")
    with engine.begin() as conn:
        conn.execute(
            insert(loans),
            [
                {
                    **_LOAN,
                    "loan_id": "CURED",
                    "status": "performing",
                    "status_date": date(2024, 11, 1),
                    "overdue_90_date": date(2024, 8, 1),
                },
                {
                    **_LOAN,
                    "loan_id": "BAD",
                    "status": "overdue_90",
                    "status_date": date(2024, 8, 1),
                    "overdue_90_date": date(2024, 8, 1),
                },
            ],
        )
    with pytest.raises(
        MigrationRefusedError, match=r"below 0009 refused: 1 loan\(s\) hold a first 90\+"
    ):
        _downgrade(engine, "0008")
    assert read_table(engine, "loans")["overdue_90_date"].notna().sum() == 2  # nothing changed

    with engine.begin() as conn:  # as the message says (after an export)
        conn.execute(update(loans).values(overdue_90_date=None, default_date=None))
    _downgrade(engine, "0008")
    with engine.connect() as conn:
        back = sorted((r.loan_id, r.status) for r in conn.execute(select(_loans_at_0008())))
    assert back == [("BAD", "overdue_90"), ("CURED", "performing")]
    assert "overdue_90_date" not in {c["name"] for c in inspect(engine).get_columns("loans")}
    migrate(engine)
