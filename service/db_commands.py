"""`broadsheet db …`: migrate the database, show where it stands, write a new migration."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from .runtime import Runtime, current_runtime
from .storage import schema

db_group = AppGroup("db", help="Database migrations.")


def _engine() -> Engine:
    return current_runtime().engine


@db_group.command("upgrade")
@click.argument("revision", default="head")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")
def upgrade_command(revision: str, sql: bool) -> None:
    """Apply the database migrations (up to REVISION, by default all)."""
    if sql:
        schema.upgrade_sql(_engine().url.render_as_string(hide_password=False), revision)
        return
    try:
        state = schema.schema_state(_engine())
        if not state.can_upgrade:
            click.echo(state.describe(), err=True)
            sys.exit(1)
        state = schema.upgrade(_engine(), revision)
    except SQLAlchemyError as error:
        click.echo(f"Could not migrate the database: {error}", err=True)
        sys.exit(1)
    click.echo(state.describe())


@db_group.command("current")
def current_command() -> None:
    """Say which revision the database is at, and whether it is the one this code needs."""
    state = schema.schema_state(_engine())
    click.echo(state.describe())
    sys.exit(0 if state.is_current else 1)


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--autogenerate", is_flag=True, help="Write the difference from the models.")
def revision_command(message: str, autogenerate: bool) -> None:
    """Write the next migration script (run `db upgrade` first when autogenerating)."""
    click.echo(f"Wrote {schema.new_revision(_engine(), message, autogenerate)}")


def prepare_database(runtime: Runtime) -> None:
    """Before serving: migrate in development; in production, refuse a schema behind in one line."""
    engine = runtime.engine
    try:
        state = schema.schema_state(engine)
        if not state.is_current and state.can_upgrade and runtime.settings.env != "production":
            state = schema.upgrade(engine)
    except SQLAlchemyError as error:
        click.echo(f"Broadsheet cannot use its database: {error}".splitlines()[0], err=True)
        sys.exit(1)
    if not state.is_current:
        click.echo(f"Broadsheet will not serve: {state.describe()}", err=True)
        sys.exit(1)
