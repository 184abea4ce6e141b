"""Fixtures shared by the test packages: a throwaway PostgreSQL server on loopback (or `SEER_ENV_PG_URL`),
used by the pool tests and the shared-pool test of the Ray executor."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    if user is None:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", user, "--", *cmd]
    return ["su", user, "-c", " ".join(cmd)]


@pytest.fixture(scope="session")
def pg_server():
    """URL of a PostgreSQL server (without database): SEER_ENV_PG_URL, or one started here.

    Skipped when no server binaries exist and CI is unset; with CI set, failing to start is an error.
    """
    url = os.environ.get("SEER_ENV_PG_URL")
    if url:
        scheme, rest = url.split("://", 1)
        yield f"postgresql+psycopg://{rest}".rsplit("/", 1)[0]
        return
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but no PostgreSQL server binaries (initdb) were found")
        pytest.skip("no PostgreSQL server binaries (install postgresql, or set SEER_ENV_PG_URL)")
    user = "postgres" if os.geteuid() == 0 else None  # the server refuses to run as root
    base = tempfile.mkdtemp(prefix="seer-pg-")
    data = os.path.join(base, "data")
    os.makedirs(data)
    if user:
        shutil.chown(base, user)
        shutil.chown(data, user)
    port = _free_port()
    log = os.path.join(base, "server.log")
    try:
        subprocess.run(
            _as_user([f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"], user),
            check=True,
            capture_output=True,
        )
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={base} -c max_connections=100"
        # a throwaway server: no durability needed, and fsync per commit would dominate the tests
        opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            _as_user(
                [f"{bindir}/pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", opts, "start"], user
            ),
            check=True,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        msg = f"could not start PostgreSQL: {exc} {detail.decode(errors='replace')[-500:]}"
        shutil.rmtree(base, ignore_errors=True)
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_user([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], user),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server):
    """A fresh database on the test server, dropped afterwards."""
    import psycopg

    name = f"pool_{uuid.uuid4().hex[:12]}"
    plain = pg_server.replace("postgresql+psycopg://", "postgresql://")
    for attempt in range(50):
        try:
            with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            break
        except psycopg.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.2)
    yield f"{pg_server}/{name}"
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
