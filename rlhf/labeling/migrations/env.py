"""Alembic environment of the label store, configured in code by `rlhf.labeling.migrations.alembic_config`.

`LabelStore` passes its own open connection (in `config.attributes["connection"]`), so a migration
runs inside the transaction that checked the revision. Without one, the URL in `sqlalchemy.url` is
used (online) or SQL is printed for it (offline, `--sql`).
"""

from alembic import context
from sqlalchemy import create_engine

from rlhf.labeling.schema import Base

config = context.config
target_metadata = Base.metadata


def _options(dialect_name: str) -> dict:
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    return {"target_metadata": target_metadata, "compare_type": True, "render_as_batch": dialect_name == "sqlite"}


def run_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"},
                      **_options(url.split(":", 1)[0].split("+", 1)[0]))
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **_options(connection.dialect.name))
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **_options(connection.dialect.name))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
