"""Durable storage of experiences on SQLAlchemy 2.x (SQLite by default, PostgreSQL for shared pools).

One row per experience; every SQL statement of the pool is in this module, and what comes out is an
`Experience` (a `Trajectory` plus the store's metadata). Each write runs in one transaction, so a crashed writer leaves whole rows or
none. SQLite files run in WAL mode with a busy timeout, and writes take the lock up front
(`BEGIN IMMEDIATE`) so concurrent writers queue instead of failing. The schema carries a version in
`pool_meta`; a pool written by a newer schema is refused with a clear message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from seer_env.files import FileLock
from seer_env.pool.types import (
    Experience,
    PoolFrozenError,
    PoolOpenError,
    PoolReadOnlyError,
    SchemaVersionError,
)
from seer_env.types import Step, Trajectory

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FREEZE_LOCK_KEY = 0x5EE2_F00D  # advisory lock id on PostgreSQL
BUSY_TIMEOUT_MS = 60_000

metadata = MetaData()

pool_meta = Table(
    "pool_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=True),
)

experiences = Table(
    "experiences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("namespace", String(128), nullable=False),
    Column("intent", String(256), nullable=True),
    Column("query", Text, nullable=False),
    Column("steps", Text, nullable=False),  # JSON list of Step.to_dict()
    Column("tool_chain", Text, nullable=False),  # JSON list of tool names
    Column("answer", Text, nullable=True),
    Column("reward", Float, nullable=False),
    Column("success", Boolean, nullable=False),
    Column("split", String(64), nullable=True),
    Column("source", String(128), nullable=True),
    Column("run_id", String(256), nullable=True),
    Column("env_id", String(256), nullable=True),
    Column("task_id", String(256), nullable=True),
    Column("meta", Text, nullable=True),  # JSON object
    Column("created_at", Float, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("embedder", String(512), nullable=False),
    Column("dim", Integer, nullable=False),
    Column("query_emb", LargeBinary, nullable=False),  # float32 bytes, L2-normalised
    Column("traj_emb", LargeBinary, nullable=False),
    UniqueConstraint("namespace", "content_hash", name="uq_experiences_ns_hash"),
    Index("ix_experiences_namespace", "namespace"),
)


# an experience on its way in: the experience (id and time not yet set) and its two embeddings
NewRow = tuple[Experience, np.ndarray, np.ndarray]


def experience_from_row(row: Any) -> Experience:
    """A full `experiences` row as an `Experience`."""
    return Experience(
        id=int(row.id),
        namespace=row.namespace,
        trajectory=Trajectory(
            env_id=row.env_id,
            task_id=row.task_id,
            query=row.query,
            intent=row.intent,
            steps=[Step.from_dict(s) for s in json.loads(row.steps)],
            answer=row.answer,
            reward=float(row.reward),
            success=bool(row.success),
            meta=json.loads(row.meta) if row.meta else {},
        ),
        split=row.split,
        source=row.source,
        run_id=row.run_id,
        created_at=float(row.created_at),
        content_hash=row.content_hash,
    )


def content_hash(namespace: str, intent: str | None, query: str, steps: Sequence[Step], answer: Any) -> str:
    """Identity of an experience's content (run id, split, source and time are not part of it)."""
    payload = {
        "namespace": namespace,
        "intent": intent,
        "query": query,
        "steps": [
            [s.action.name, s.action.arguments, str(s.observation), bool(s.ok), s.thought or ""]
            for s in steps
        ],
        "answer": None if answer is None else str(answer),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def resolve_url(url: str | os.PathLike | None) -> str:
    """None -> a fresh SQLite file in a temp dir; a path -> `sqlite:///path`; else the URL as given
    (`postgresql://` means psycopg 3)."""
    if url is None:
        d = tempfile.mkdtemp(prefix="seer-pool-")
        return f"sqlite:///{Path(d) / 'pool.sqlite'}"
    s = str(url)
    if "://" in s:
        scheme, rest = s.split("://", 1)
        if scheme in ("postgresql", "postgres"):  # the driver seer-env depends on is psycopg 3
            return f"postgresql+psycopg://{rest}"
        return s
    return f"sqlite:///{Path(s).expanduser().resolve()}"


def safe_url(url: str) -> str:
    """The URL with any password hidden (for logs and stats)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<url>"


def _sqlite_read_only_engine(path: str) -> Engine:
    """An engine that only reads the SQLite file at `path` and creates no file next to it.

    SQLite opens a WAL database read-only by creating its `-wal` and `-shm` files when they are
    absent; they are absent exactly when no connection has the database open, and then the file
    is opened as immutable (no locks, no side files). When they exist (a writer is at work) the
    reader shares them. A file that a writer starts changing in the milliseconds of the read can
    give an inconsistent snapshot: acceptable for `stats` and `export`, which take no lock.
    """
    import sqlite3

    def connect():
        immutable = "" if os.path.exists(path + "-wal") else "&immutable=1"
        uri = "file:" + quote(path) + "?mode=ro" + immutable
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)

    return create_engine("sqlite://", creator=connect)


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # driver autocommit, so SQLAlchemy's BEGIN below is the only transaction control
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if url.database and url.database != ":memory:":
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # writers take the write lock up front: a deferred BEGIN that later upgrades can fail at once
        # with "database is locked" instead of waiting for the busy timeout
        if conn.get_execution_options().get("seer_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


class Store:
    """The SQL side of a pool: schema, rows, metadata.

    read_only: open an existing pool only to read it: nothing is written and no file is created
    (`PoolOpenError` when there is no pool at the URL); writes raise `PoolReadOnlyError`. Opened
    for writing, an SQLite file that holds other tables but no pool is refused, never added to.
    """

    def __init__(self, url: str | os.PathLike | None = None, *, read_only: bool = False):
        if read_only and url is None:
            raise PoolOpenError("a read-only pool needs the URL or path of an existing pool")
        self.url = resolve_url(url)
        self.read_only = read_only
        u = make_url(self.url)
        self.dialect = u.get_backend_name()
        self._writer_lock: FileLock | None = None
        if self.dialect == "sqlite":
            path = u.database or ""
            if read_only:
                if not path or path == ":memory:" or not os.path.isfile(path):
                    raise PoolOpenError(f"no pool at {path or safe_url(self.url)}: there is no such file")
                self.engine = _sqlite_read_only_engine(path)
            else:
                if path and path != ":memory:" and os.path.isdir(path):
                    raise PoolOpenError(f"{path} is a folder, not a pool file")
                if path and path != ":memory:" and os.path.isfile(path):
                    # looked at read-only first: opening for writing switches the file to WAL mode
                    probe = _sqlite_read_only_engine(path)
                    try:
                        self._check_database(probe)
                    finally:
                        probe.dispose()
                self.engine = _sqlite_engine(u)
                if path and path != ":memory:":
                    self._writer_lock = FileLock(path + ".writelock")
        else:
            self.engine = create_engine(u, pool_pre_ping=True)
        try:
            self._check_database(self.engine)
            if not read_only:
                self._init_schema()
            self._check_version()
        except BaseException:
            self.engine.dispose()
            raise

    # ---- schema -----------------------------------------------------------------------------
    def _check_database(self, engine: Engine) -> None:
        """Refuse what is not a pool: an unreadable or corrupt file, or an SQLite file that holds
        other tables but no pool (a pool is never created inside someone else's database)."""
        where = safe_url(self.url)
        try:
            with engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
        except DBAPIError as exc:
            reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
            raise PoolOpenError(f"cannot read the pool at {where}: {reason}") from None
        wanted = {pool_meta.name, experiences.name}
        if self.read_only and not wanted <= tables:
            missing = " or ".join(sorted(wanted - tables))
            raise PoolOpenError(f"{where} is not an experience pool (it has no {missing} table)")
        # a PostgreSQL database is often shared with other applications; an SQLite file is not
        if self.dialect == "sqlite" and tables and not tables & wanted:
            raise PoolOpenError(
                f"{where} is a database of other tables ({', '.join(sorted(tables)[:3])}...), not an "
                "experience pool; give a new file or an existing pool"
            )

    def _check_version(self) -> None:
        version = int(self.get_meta("schema_version") or 0)
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the pool at {safe_url(self.url)} has schema version {version}, but this seer-env only "
                f"knows versions up to {SCHEMA_VERSION}; upgrade seer-env to open it"
            )

    def _init_schema(self) -> None:
        for attempt in range(20):
            try:
                with self._write() as conn:
                    metadata.create_all(conn, checkfirst=True)
                    version = conn.execute(
                        select(pool_meta.c.value).where(pool_meta.c.key == "schema_version")
                    ).scalar()
                    if version is None:
                        conn.execute(
                            insert(pool_meta).values(key="schema_version", value=str(SCHEMA_VERSION))
                        )
                        conn.execute(insert(pool_meta).values(key="created_at", value=repr(time.time())))
                break
            except (OperationalError, ProgrammingError, IntegrityError) as exc:
                # two processes creating the same pool at once: the loser retries and finds it made
                if attempt == 19:
                    raise
                log.debug("schema creation raced (%s); retrying", exc.__class__.__name__)
                time.sleep(0.05 * (attempt + 1))

    @contextmanager
    def _write(self):
        """A connection in one write transaction (committed on success, rolled back on error).

        On an SQLite file, writers first queue on an OS file lock: SQLite's own busy handler polls with
        sleeps of up to 100 ms, which wastes most of the time when many processes write at once.
        The OS drops the lock when a process dies, so a killed writer never blocks the others.
        """
        if self.read_only:
            raise PoolReadOnlyError(f"the pool at {safe_url(self.url)} was opened read-only")
        with (
            self._writer_lock or contextlib.nullcontext(),
            self.engine.connect().execution_options(seer_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    def _read(self):
        return self.engine.connect()

    # ---- metadata -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._read() as conn:
            return conn.execute(select(pool_meta.c.value).where(pool_meta.c.key == key)).scalar()

    def all_meta(self) -> dict[str, str | None]:
        with self._read() as conn:
            return {k: v for k, v in conn.execute(select(pool_meta.c.key, pool_meta.c.value))}

    def set_meta(self, key: str, value: str | None, conn=None) -> None:
        if conn is None:
            with self._write() as c:
                return self.set_meta(key, value, c)
        done = conn.execute(update(pool_meta).where(pool_meta.c.key == key).values(value=value)).rowcount
        if not done:
            conn.execute(insert(pool_meta).values(key=key, value=value))

    def ensure_embedder(self, name: str, dim: int) -> tuple[str, int]:
        """Record the embedder on first use; return the pool's (name, dim)."""
        with self._write() as conn:
            rows = dict(
                conn.execute(
                    select(pool_meta.c.key, pool_meta.c.value).where(pool_meta.c.key.in_(["embedder", "dim"]))
                ).all()
            )
            if rows.get("embedder") is None:
                self.set_meta("embedder", name, conn)
                self.set_meta("dim", str(int(dim)), conn)
                return name, int(dim)
            return rows["embedder"], int(rows.get("dim") or 0)

    def is_frozen(self) -> bool:
        return (self.get_meta("frozen") or "") == "1"

    # ---- rows ---------------------------------------------------------------------------------
    def insert_rows(self, rows: Sequence[NewRow], embedder: str, dim: int) -> list[bool]:
        """Insert rows in one transaction; returns, per row, whether it was new (False: duplicate).

        Raises PoolFrozenError (nothing written) when the pool is frozen.
        """
        if not rows:
            return []
        now = time.time()
        with self._write() as conn:
            self.writer_barrier(conn, exclusive=False)
            q = select(pool_meta.c.value).where(pool_meta.c.key == "frozen")
            if (conn.execute(q).scalar() or "") == "1":
                raise PoolFrozenError(f"the pool at {safe_url(self.url)} is frozen; it takes no writes")
            keys = {(e.namespace, e.content_hash) for e, _, _ in rows}
            existing = set()
            # SQLite and PostgreSQL skip existing rows in the INSERT itself (ON CONFLICT DO NOTHING)
            for ns in {k[0] for k in keys} if self.dialect not in ("sqlite", "postgresql") else ():
                hashes = [h for n, h in keys if n == ns]
                for i in range(0, len(hashes), 500):
                    existing.update(
                        (ns, h)
                        for (h,) in conn.execute(
                            select(experiences.c.content_hash).where(
                                experiences.c.namespace == ns,
                                experiences.c.content_hash.in_(hashes[i : i + 500]),
                            )
                        )
                    )
            out: list[bool] = []
            todo: list[tuple[int, dict[str, Any]]] = []
            for exp, q, t in rows:
                key = (exp.namespace, exp.content_hash)
                if key in existing:
                    out.append(False)
                    continue
                existing.add(key)
                out.append(True)
                todo.append((len(out) - 1, self._row_values(exp, q, t, embedder, dim, now)))
            if todo:
                new = self._insert_new(conn, [v for _, v in todo])
                for i, v in todo:
                    if (v["namespace"], v["content_hash"]) not in new:
                        out[i] = False  # a concurrent writer added it meanwhile
        return out

    def _insert_new(self, conn, values: list[dict[str, Any]]) -> set[tuple[str, str]]:
        """Insert, skipping rows whose (namespace, content hash) exists; returns the keys inserted."""
        if self.dialect in ("sqlite", "postgresql"):
            if self.dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            else:
                from sqlalchemy.dialects.postgresql import insert as dialect_insert
            stmt = (
                dialect_insert(experiences)
                .on_conflict_do_nothing(index_elements=["namespace", "content_hash"])
                .returning(experiences.c.namespace, experiences.c.content_hash)
            )
            return {(ns, h) for ns, h in conn.execute(stmt, values)}
        new = set()
        for v in values:  # other databases: one savepoint per row
            try:
                with conn.begin_nested():
                    conn.execute(insert(experiences), [v])
                new.add((v["namespace"], v["content_hash"]))
            except IntegrityError:
                pass
        return new

    def writer_barrier(self, conn, exclusive: bool) -> None:
        """Order writes against freeze(): writers share a lock that freeze takes exclusively.

        SQLite needs nothing (its writers run one at a time); PostgreSQL uses a transaction-scoped
        advisory lock (cheap, unlike a shared row lock on one hot row).
        """
        if self.dialect == "postgresql":
            fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
            conn.exec_driver_sql(f"SELECT {fn}({FREEZE_LOCK_KEY})")

    @staticmethod
    def _row_values(
        exp: Experience, query_emb: np.ndarray, traj_emb: np.ndarray, embedder: str, dim: int, now: float
    ) -> dict[str, Any]:
        q = np.ascontiguousarray(query_emb, dtype=np.float32).reshape(-1)
        t = np.ascontiguousarray(traj_emb, dtype=np.float32).reshape(-1)
        if q.shape[0] != dim or t.shape[0] != dim:
            raise ValueError(f"embedding dimension {q.shape[0]}/{t.shape[0]} != pool dimension {dim}")
        traj = exp.trajectory
        return {
            "namespace": exp.namespace,
            "intent": traj.intent,
            "query": traj.query,
            "steps": json.dumps([s.to_dict() for s in traj.steps], ensure_ascii=False, default=str),
            "tool_chain": json.dumps(traj.tool_chain, ensure_ascii=False),
            "answer": None if traj.answer is None else str(traj.answer),
            "reward": float(traj.reward),
            "success": bool(traj.success),
            "split": exp.split,
            "source": exp.source,
            "run_id": exp.run_id,
            "env_id": traj.env_id,
            "task_id": traj.task_id,
            "meta": json.dumps(traj.meta or {}, ensure_ascii=False, default=str),
            "created_at": float(exp.created_at if exp.created_at is not None else now),
            "content_hash": exp.content_hash,
            "embedder": embedder,
            "dim": int(dim),
            "query_emb": q.tobytes(),
            "traj_emb": t.tobytes(),
        }

    INDEX_COLUMNS = (
        experiences.c.id,
        experiences.c.namespace,
        experiences.c.intent,
        experiences.c.tool_chain,
        experiences.c.embedder,
        experiences.c.dim,
        experiences.c.query_emb,
        experiences.c.traj_emb,
    )

    def index_rows(self, after_id: int, extra_ids: Iterable[int] = (), chunk: int = 20_000):
        """Rows with id > after_id (and the given older ids) in id order, for the vector index."""
        extra = sorted(set(extra_ids))
        with self._read() as conn:
            if extra:
                for i in range(0, len(extra), 500):
                    yield from conn.execute(
                        select(*self.INDEX_COLUMNS)
                        .where(experiences.c.id.in_(extra[i : i + 500]))
                        .order_by(experiences.c.id)
                    )
            last = after_id
            while True:
                res = conn.execute(
                    select(*self.INDEX_COLUMNS)
                    .where(experiences.c.id > last)
                    .order_by(experiences.c.id)
                    .limit(chunk)
                ).all()
                if not res:
                    return
                yield from res
                last = res[-1].id
                if len(res) < chunk:
                    return

    def fetch(self, ids: Sequence[int]) -> dict[int, Experience]:
        """Experiences by id."""
        out = {}
        ids = list(ids)
        with self._read() as conn:
            for i in range(0, len(ids), 500):
                for row in conn.execute(select(experiences).where(experiences.c.id.in_(ids[i : i + 500]))):
                    out[row.id] = experience_from_row(row)
        return out

    def iter_experiences(self, namespace: str | None = None) -> Iterator[Experience]:
        """All experiences in id order (optionally one namespace)."""
        for row in self._iter_rows(namespace):
            yield experience_from_row(row)

    def existing_hashes(self, namespace: str, hashes: Sequence[str]) -> set[str]:
        """The content hashes among `hashes` that `namespace` already holds."""
        out: set[str] = set()
        with self._read() as conn:
            for i in range(0, len(hashes), 500):
                q = select(experiences.c.content_hash).where(
                    experiences.c.namespace == namespace, experiences.c.content_hash.in_(hashes[i : i + 500])
                )
                out.update(h for (h,) in conn.execute(q))
        return out

    def _iter_rows(self, namespace: str | None = None, chunk: int = 1000):
        """All rows in id order (optionally one namespace)."""
        last = 0
        with self._read() as conn:
            while True:
                q = select(experiences).where(experiences.c.id > last)
                if namespace is not None:
                    q = q.where(experiences.c.namespace == namespace)
                res = conn.execute(q.order_by(experiences.c.id).limit(chunk)).all()
                yield from res
                if len(res) < chunk:
                    return
                last = res[-1].id

    def count(self, namespace: str | None = None) -> int:
        if self.dialect == "sqlite":
            # the runner records the pool size after every episode: on SQLite one statement on a pooled
            # DBAPI connection costs ~0.02 ms of CPU, SQLAlchemy's connection and transaction ~0.25 ms
            sql = f"SELECT count(*) FROM {experiences.name}"
            args: tuple = ()
            if namespace is not None:
                sql, args = sql + " WHERE namespace = ?", (namespace,)
            raw = self.engine.raw_connection()
            try:
                cur = raw.cursor()
                try:
                    cur.execute(sql, args)
                    return int(cur.fetchone()[0] or 0)
                finally:
                    cur.close()
            finally:
                raw.close()  # back to the pool
        q = select(func.count()).select_from(experiences)
        if namespace is not None:
            q = q.where(experiences.c.namespace == namespace)
        with self._read() as conn:
            return int(conn.execute(q).scalar() or 0)

    def group_counts(self, column: str) -> dict[str, int]:
        col = experiences.c[column]
        with self._read() as conn:
            return {str(k): int(n) for k, n in conn.execute(select(col, func.count()).group_by(col))}

    def hash_lines(self):
        """(namespace, content_hash) in id order: what the pool's content hash is made of."""
        with self._read() as conn:
            yield from conn.execute(
                select(experiences.c.namespace, experiences.c.content_hash).order_by(experiences.c.id)
            )

    def freeze(self) -> None:
        """Refuse all further writes, in every process (waits for writes in flight)."""
        with self._write() as conn:
            self.writer_barrier(conn, exclusive=True)
            self.set_meta("frozen", "1", conn)

    def reembed(
        self,
        embed: Callable[[list[Experience]], tuple[np.ndarray, np.ndarray]],
        name: str,
        dim: int,
        batch_size: int = 256,
    ) -> None:
        """Replace every stored embedding, in one transaction: `embed(experiences)` returns the query
        and trajectory vectors of a batch; the pool then records `name` and `dim` as its embedder."""
        exps = list(self.iter_experiences())
        with self._write() as conn:
            for b in range(0, len(exps), batch_size):
                chunk = exps[b : b + batch_size]
                qv, tv = embed(chunk)
                updates = [(e.id, qv[j], tv[j]) for j, e in enumerate(chunk)]
                self._replace_embeddings(updates, name, dim, conn)
            self.set_meta("embedder", name, conn)
            self.set_meta("dim", str(int(dim)), conn)

    def _replace_embeddings(
        self, updates: Sequence[tuple[int, np.ndarray, np.ndarray]], name: str, dim: int, conn
    ) -> None:
        for rid, q, t in updates:
            conn.execute(
                update(experiences)
                .where(experiences.c.id == rid)
                .values(
                    embedder=name,
                    dim=int(dim),
                    query_emb=np.ascontiguousarray(q, dtype=np.float32).tobytes(),
                    traj_emb=np.ascontiguousarray(t, dtype=np.float32).tobytes(),
                )
            )

    def close(self) -> None:
        self.engine.dispose()
        if self._writer_lock is not None:
            self._writer_lock.close()
