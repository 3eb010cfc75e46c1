"""``credlink graph``: the linked-entity graph from the command line.

build · explain USCC · controller USCC · export-bods FILE · import-bods FILE

What the commands print never holds a raw resident ID number, whatever the store holds: a
person id that is one is shown as the pseudonym the API serves, keyed by the store's ID salt,
and texts are masked (:mod:`serving.redaction`).

Registered in :mod:`serving.cli` as the ``graph`` group.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from serving.cli.common import (
    AsOfOpt,
    DatabaseOpt,
    JsonOpt,
    WorkDirOpt,
    err,
    open_store,
    out,
    parse_date,
    print_json,
    risk_config_of,
    scoring_store,
    settings_for,
)

if TYPE_CHECKING:
    import pandas as pd

    from risk.explain import Explanation
    from risk.snapshot import ScoredSnapshot

__all__ = ["graph_app", "print_top_linked"]

graph_app = typer.Typer(
    help="Linked-entity graph: propagation, explanations, controllers, BODS.",
    no_args_is_help=True,
)
UsccArg = Annotated[str, typer.Argument(help="统一社会信用代码 of the enterprise.")]


def _first_linked_sentence(explanation: Explanation) -> str:
    """The heaviest source that is *another* party's record, as a sentence."""
    for source in explanation.sources:
        if not source.from_self and source.sentence:
            return source.sentence
    return explanation.sources[0].sentence if explanation.sources else ""


def print_top_linked(run: ScoredSnapshot, n: int = 10) -> pd.DataFrame:
    """Print the top linked-risk enterprises with one explanation each; return the rows."""
    from risk.explain import explain
    from serving.redaction import without_id_numbers

    top = run.propagator.top_linked(run.scores, n)
    names = run.snapshot.nodes.set_index("node_id")["name"]
    table = Table(
        title=f"top {len(top)} linked-risk enterprises as of {run.snapshot.as_of:%Y-%m-%d}"
    )
    for column in ("USCC", "name", "own", "linked (others)", "why"):
        table.add_column(column, overflow="fold")
    for uscc, row in top.iterrows():
        why = _first_linked_sentence(explain(run.snapshot, run.scores, run.records, uscc, top=3))
        cells = [str(uscc), str(names.get(uscc, "")), f"{row['own_signal']:.2f}"]
        cells += [f"{row['linked_risk_excluding_self']:.2f}", why]
        table.add_row(*without_id_numbers(cells))
    out.print(table)
    return top


@graph_app.command("build")
def build(
    as_of: AsOfOpt = None,
    top: Annotated[int, typer.Option(min=1, help="How many top enterprises to show.")] = 10,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Build the graph as of a date, propagate risk, show groups and the top linked risks."""
    from risk.groups import related_groups
    from risk.snapshot import score_snapshot
    from risk.store import read_table

    day = parse_date("as-of", as_of)
    engine, risk = scoring_store(work_dir, database_url)
    with err.status("building the graph and propagating …"):
        run = score_snapshot(engine, day, risk)
        roles = read_table(engine, "roles")
        enterprises = read_table(engine, "enterprises", columns=["uscc"])
        groups = related_groups(roles, day, enterprises=enterprises)
    snap = run.snapshot
    n_person = int(snap.is_person.sum())
    sizes = groups.drop_duplicates("group_id")["group_size"]
    out.print(
        f"graph as of {day}: {snap.n_nodes:,} nodes ({snap.n_nodes - n_person:,} enterprises, "
        f"{n_person:,} persons, {int((~snap.known).sum()):,} holders not in the store), "
        f"{snap.n_edges:,} edges; built and scored in {run.seconds:.2f} s"
    )
    out.print(
        f"关联企业群: {len(sizes):,} groups; {int((sizes > 1).sum()):,} with 2+ enterprises; "
        f"largest {int(sizes.max()) if len(sizes) else 0:,}"
    )
    out.print(
        f"nodes with an own signal: {int((run.scores.own_signal > 0).sum()):,}; "
        f"with linked risk: {int((run.scores.linked_risk > 0).sum()):,}"
    )
    print_top_linked(run, top)


@graph_app.command("explain")
def explain_cmd(
    uscc: UsccArg,
    as_of: AsOfOpt = None,
    top: Annotated[int, typer.Option(min=1)] = 5,
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Why an enterprise carries linked risk: top source records with their hop paths."""
    from risk.exceptions import UnknownEntityError
    from risk.explain import explain
    from risk.snapshot import score_snapshot
    from serving.redaction import PersonIds, without_id_numbers

    day = parse_date("as-of", as_of)
    settings = settings_for(work_dir, database_url)
    engine = open_store(settings)
    run = score_snapshot(engine, day, risk_config_of(settings))
    try:
        explanation = explain(run.snapshot, run.scores, run.records, uscc, top=top)
    except UnknownEntityError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        ids = PersonIds(run.snapshot, settings.salt())
        print_json(without_id_numbers(ids.explanation(explanation.to_dict())))
    else:
        out.print(without_id_numbers(explanation.text()))


@graph_app.command("controller")
def controller(
    uscc: UsccArg,
    as_of: AsOfOpt = None,
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Control threshold (0.25 for 受益所有人).")
    ] = 0.5,
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """The actual controller (实际控制人) through ownership chains, with its path.

    Every beneficial owner at or above ``--threshold`` is listed too (two 50 % owners at 0.25
    are both 受益所有人, though neither alone controls). ``--as-of`` answers with the roles
    present then, a BODS record's earlier statements included.
    """
    import pandas as pd

    from risk.bods import read_external_parties
    from risk.controllers import actual_controllers
    from risk.identifiers import mask_name
    from risk.store import read_table
    from serving.redaction import without_id_numbers

    day = parse_date("as-of", as_of)
    settings = settings_for(work_dir, database_url)
    engine = open_store(settings)
    enterprises = read_table(engine, "enterprises")
    external = read_external_parties(engine)
    foreign = external.loc[external["party_type"] == "enterprise"]
    if uscc not in set(enterprises["uscc"]) | set(foreign["party_id"]):
        err.print(f"[red]enterprise {uscc!r} is not in the store[/red]")
        raise typer.Exit(2)
    persons = read_table(engine, "persons", columns=["person_id", "name"])
    outside = external.loc[external["party_type"] == "person"]
    named_persons = pd.concat(
        [persons, pd.DataFrame({"person_id": outside["party_id"], "name": outside["name"]})],
        ignore_index=True,
    )
    named_enterprises = pd.concat(
        [
            enterprises[["uscc", "name"]],
            pd.DataFrame({"uscc": foreign["party_id"], "name": foreign["name"]}),
        ],
        ignore_index=True,
    )
    result = actual_controllers(
        read_table(engine, "roles"),
        day,
        threshold=threshold,
        persons=named_persons,
        enterprises=named_enterprises,
        subjects=[uscc],
    )
    row = result.loc[result["uscc"] == uscc].iloc[0].to_dict()
    if as_json:
        print_json(without_id_numbers(_served_ids(row, set(persons["person_id"]), settings.salt())))
        return
    out.print(f"{uscc}: {row['status']}")
    out.print(without_id_numbers(str(row["explanation"])))
    names = dict(zip(named_persons["person_id"], named_persons["name"], strict=True))
    owners = [
        f"{mask_name(str(names.get(o['person_id']) or o['person_id']))} "
        f"{o['effective_share'] * 100:.2f}".rstrip("0").rstrip(".")
        + "%"
        for o in row["owners"]
    ]
    shown = "、".join(owners) if owners else "无"
    out.print(without_id_numbers(f"受益所有人 (≥ {threshold * 100:g}%): {shown}"))


def _served_ids(row: dict[str, Any], person_ids: set[str], key: bytes) -> dict[str, Any]:
    """A controller row with its person ids as the API serves them (:func:`served_person_id`)."""
    from serving.redaction import served_person_id

    def served(node_id: Any) -> Any:
        return served_person_id(node_id, key) if node_id in person_ids else node_id

    path = row.get("path")
    return {
        **row,
        "controller_id": served(row.get("controller_id")),
        "candidate_id": served(row.get("candidate_id")),
        "path": [served(n) for n in path] if isinstance(path, list) else path,
        "owners": [{**o, "person_id": served(o["person_id"])} for o in row.get("owners") or []],
    }


@graph_app.command("export-bods")
def export_bods_cmd(
    file: Annotated[Path, typer.Argument(help="Output .json (array) or .jsonl file.")],
    as_of: AsOfOpt = None,
    mask_persons: Annotated[bool, typer.Option(help="Mask person names.")] = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Export the ownership graph as Open Ownership BODS 0.4 statements."""
    import pandas as pd

    from risk.bods import export_bods, read_external_parties, write_bods
    from risk.store import read_table

    day = parse_date("as-of", as_of)
    engine = open_store(settings_for(work_dir, database_url))
    statements = export_bods(
        read_table(engine, "enterprises"),
        read_table(engine, "persons"),
        read_table(engine, "roles"),
        day,
        mask_persons=mask_persons,
        external=read_external_parties(engine),
    )
    write_bods(statements, file)
    kinds = pd.Series([s.get("recordType") for s in statements]).value_counts()
    out.print(
        f"wrote {len(statements):,} BODS statements to {file} ("
        + ", ".join(f"{k} {v:,}" for k, v in kinds.items())
        + ")"
    )


@graph_app.command("import-bods")
def import_bods_cmd(
    file: Annotated[Path, typer.Argument(help="BODS 0.4 statements: .json or .jsonl.")],
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Import BODS statements through the validated ingest; report what could not be mapped.

    Exits 1 when statements were skipped or a file was refused.
    """
    from rich.markup import escape

    from risk.bods import import_bods, read_bods, store_bods
    from risk.exceptions import RiskError
    from risk.identifiers import mask_id_numbers
    from serving.settings import load_allowlist

    if not file.exists():
        raise typer.BadParameter(f"file must exist; got {str(file)!r}")
    settings = settings_for(work_dir, database_url)
    engine = open_store(settings)
    salt = settings.salt()
    try:
        imported = import_bods(read_bods(file), id_salt=salt)
        # No temporary files: each batch and quarantined row names the BODS file itself.
        summaries = store_bods(
            engine,
            imported,
            source=f"BODS {file.name}",
            id_salt=salt,
            uscc_allowlist=load_allowlist(settings.uscc_allowlist),
        )
    except (RiskError, ValueError, TypeError, OSError) as exc:
        err.print(f"[red]cannot import:[/red] {escape(mask_id_numbers(str(exc)))}", soft_wrap=True)
        raise typer.Exit(2) from None
    table = Table(title=f"BODS import from {file.name}")
    for column in ("table", "read", "inserted", "updated", "unchanged", "quarantined", "status"):
        table.add_column(column)
    for s in summaries:
        table.add_row(
            s.table,
            *(
                f"{getattr(s, c):,}"
                for c in ("read", "inserted", "updated", "unchanged", "quarantined")
            ),
            s.status,
        )
    out.print(table)
    by_table = {s.table: s for s in summaries}
    # for_ingest moves the persons without an ID number the store does not know to
    # external_parties: with them the person statements reconcile.
    persons_away = len(imported.persons) - by_table["persons"].read
    if len(imported.external) or persons_away:
        stored = by_table["roles"].status == "ok"
        out.print(
            f"{len(imported.external):,} entities and {persons_away:,} persons outside the "
            "Chinese registers "
            + ("stored as external parties (external_parties)" if stored else "not stored")
        )
    report = imported.report
    if len(report):
        out.print(f"{len(report):,} statements or interests not mapped cleanly:")
        out.print(report.to_string(max_rows=20))
    if imported.skipped or any(s.status != "ok" for s in summaries):
        raise typer.Exit(1)
