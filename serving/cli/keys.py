"""``credlink keys``: API keys for banks, the credit office, analysts and admins.

create --role ROLE --institution NAME [--name WHO] · list · revoke ID

Registered in :mod:`serving.cli` as the ``keys`` group. The token is
printed once, by ``create``; the store keeps only its SHA-256 and its prefix.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from serving.cli.common import DatabaseOpt, WorkDirOpt, err, open_store, out, settings_for
from serving.display import display_time
from serving.roles import KeyRole

__all__ = ["keys_app"]

keys_app = typer.Typer(
    help="API keys (roles bank, credit_office, analyst, admin), stored hashed.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@keys_app.command("create")
def create(
    role: Annotated[KeyRole, typer.Option(help="What the key may do.")],
    institution: Annotated[
        str, typer.Option(help="The holder's institution, e.g. 某农商银行 or 县信用办.")
    ],
    name: Annotated[
        str | None, typer.Option(help="A person or account at the institution.")
    ] = None,
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Create a key and print its token ONCE (it cannot be shown again)."""
    from serving.keys import create_key

    engine = open_store(settings_for(work_dir, database_url))
    try:
        new = create_key(engine, role, institution, name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        payload = {"key": new.key.to_dict(), "token": new.token}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return
    err.print(
        f"key {new.key.id} ({new.key.role.value}, {new.key.actor}) created; "
        "store the token now, it is not shown again:"
    )
    out.print(new.token, soft_wrap=True)


@keys_app.command("list")
def list_cmd(
    active: Annotated[bool, typer.Option("--active", help="Only keys not revoked.")] = False,
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """List keys by id with prefix, role, institution and status (never the tokens)."""
    from serving.keys import list_keys

    keys = list_keys(open_store(settings_for(work_dir, database_url)), include_revoked=not active)
    if as_json:
        payload = [k.to_dict() for k in keys]
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title="API keys")
    for column in ("id", "prefix", "role", "institution", "name", "created", "status"):
        table.add_column(column)
    for key in keys:
        table.add_row(
            str(key.id),
            f"{key.prefix}…",
            key.role.value,
            key.institution,
            key.name or "",
            display_time(key.created_at),
            f"revoked {display_time(key.revoked_at)}" if key.revoked_at else "active",
        )
    out.print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The key's id.")],
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Revoke a key: it authenticates no more (its audit rows stay). Exits 1 if unknown."""
    from serving.exceptions import UnknownKeyError
    from serving.keys import revoke_key

    try:
        key = revoke_key(open_store(settings_for(work_dir, database_url)), key_id)
    except UnknownKeyError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    assert key.revoked_at is not None
    when = display_time(key.revoked_at)
    out.print(f"key {key.id} ({key.prefix}…, {key.actor}) revoked at {when} Beijing time")
