"""Engine and session factory for SQLite (the embedded default) or PostgreSQL."""

from __future__ import annotations

import functools
import math
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# How long to wait for the database (a connection, a lock, an answer) before treating it as
# down: the person gets an apology, /healthz says 503, delivery tries again next tick.
DEFAULT_TIMEOUT_SECONDS = 10
# A live PostgreSQL cancels a statement itself at the timeout; waiting a little longer for that
# keeps the connection usable, and only a server that says nothing at all makes us hang up.
_ANSWER_GRACE_SECONDS = 1.0


def make_engine(url: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, **kwargs: Any) -> Engine:
    """An engine that never waits on the database for much longer than `timeout` seconds.

    SQLite is tuned for a multi-threaded bot: WAL, foreign keys, and a busy timeout for another
    connection's write lock.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": timeout}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN defers the write lock (deadlock-prone) and breaks SAVEPOINT.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_timeout=timeout, **kwargs)
    event.listen(engine, "do_connect", functools.partial(_connect_postgres, timeout))
    return engine


def _connect_postgres(
    timeout: float, _dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]
) -> Any:
    # libpq counts connect_timeout in whole seconds, and treats anything under 2 as 2.
    cparams.setdefault("connect_timeout", max(2, math.ceil(timeout)))
    options = cparams.get("options", "")
    cparams["options"] = f"{options} -c statement_timeout={int(timeout * 1000)}".strip()
    connection = _answering_connection().connect(*cargs, **cparams)
    connection.answer_timeout = timeout + _ANSWER_GRACE_SECONDS
    return connection


@functools.cache
def _answering_connection() -> type:
    """psycopg's Connection, but it stops waiting for a server that has stopped answering.

    A hung server (or a stuck proxy or VM in between) keeps the connection open and sends
    nothing: libpq would wait forever, its server-side statement_timeout never fires, and TCP
    keepalives don't help because the kernel on the far side still acknowledges them. psycopg's
    own wait() takes a timeout; we always pass one.
    """
    import psycopg

    class AnsweringConnection(psycopg.Connection):  # type: ignore[type-arg]
        answer_timeout: float | None = None

        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            if timeout is not None or self.answer_timeout is None:
                return super().wait(gen, interval, timeout)
            try:
                return super().wait(gen, interval, self.answer_timeout)
            except psycopg.errors._WaitTimeout:
                # Half-way through a statement the connection is unusable: closing it makes
                # SQLAlchemy see a disconnect and throw the pool's connections away.
                self.close()
                raise psycopg.OperationalError(
                    f"the database did not answer within {self.answer_timeout:g} s"
                ) from None

    return AnsweringConnection


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def insert_or_ignore(session: Session, model: type[Any], **values: Any) -> bool:
    """Insert one row unless it would break a unique constraint; True when it was inserted.

    Safe when two requests race to create the same member, topic or event record.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(model).values(**values).on_conflict_do_nothing()
    # Without preserve_rowcount, psycopg's rowcount can come back as -1.
    result = session.execute(statement, execution_options={"preserve_rowcount": True})
    return result.rowcount == 1  # type: ignore[attr-defined]
