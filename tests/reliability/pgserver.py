"""A PostgreSQL server for the team-mode tests.

``REVIEWSCOPE_TEST_PG_URL`` (what .ci/run exports after starting one) wins. Without it, the
tests try to start a throw-away cluster themselves from the Debian ``postgresql`` package
binaries (``initdb`` / ``pg_ctl``; as the ``postgres`` user when running as root), on a free
localhost port, in a temporary folder that is removed afterwards. When neither works the
team-mode tests are skipped and the reason says why.

Every test gets its own schema (``?options=-csearch_path=...``) in that database, so no
CREATEDB privilege is needed and tests never see each other's rows.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import quote

ENV_URL = "REVIEWSCOPE_TEST_PG_URL"


@dataclass
class PgServer:
    url: str  # postgresql+psycopg://... of a database the tests may create schemas in
    stop: Optional[callable] = None
    origin: str = ""


def _find_bin(name: str) -> Optional[str]:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_temp_cluster() -> tuple[Optional[PgServer], str]:
    """Start a private cluster; returns ``(server, "")`` or ``(None, why not)``."""
    initdb, pg_ctl = _find_bin("initdb"), _find_bin("pg_ctl")
    if not initdb or not pg_ctl:
        return None, "no PostgreSQL server binaries (initdb/pg_ctl; Debian package 'postgresql')"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None, "psycopg is not installed (pip install 'psycopg[binary]')"
    run_as: list[str] = []
    root = os.geteuid() == 0
    if root:  # initdb refuses to run as root
        try:
            import pwd

            pw = pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root and there is no 'postgres' user to run the server as"
        setpriv = shutil.which("setpriv")
        if not setpriv:
            return None, "running as root and setpriv is missing (needed to run the server as 'postgres')"
        run_as = [setpriv, f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups"]
    base = Path(tempfile.mkdtemp(prefix="reviewscope-pg-"))
    data, sock, log = base / "data", base / "sock", base / "server.log"
    sock.mkdir()
    if root:
        os.chmod(base, 0o755)
        for p in (base, sock):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    port = _free_port()

    def run(cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(run_as + cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=str(base))

    try:
        r = run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        if r.returncode != 0:
            shutil.rmtree(base, ignore_errors=True)
            return None, f"initdb failed: {(r.stderr or r.stdout).strip().splitlines()[-1:]}"
        opts = (f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60 "
                f"-c shared_buffers=32MB")
        r = run([pg_ctl, "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60", "start"])
        if r.returncode != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
            shutil.rmtree(base, ignore_errors=True)
            return None, f"pg_ctl start failed: {(r.stderr or r.stdout).strip()[-300:]} {tail}"
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(base, ignore_errors=True)
        return None, f"cannot run the PostgreSQL binaries: {exc}"

    def stop() -> None:
        try:
            run([pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"], timeout=60)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    admin = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as con:
            con.execute("CREATE ROLE reviewscope LOGIN PASSWORD 'reviewscope'")
            con.execute("CREATE DATABASE reviewscope_test OWNER reviewscope")
    except Exception as exc:  # keep the admin URL then
        return PgServer(admin, stop, f"temporary cluster on port {port} (admin; {exc})"), ""
    url = f"postgresql+psycopg://reviewscope:reviewscope@127.0.0.1:{port}/reviewscope_test"
    return PgServer(url, stop, f"temporary cluster on port {port}"), ""


def find_server() -> tuple[Optional[PgServer], str]:
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        return PgServer(url, None, f"${ENV_URL}"), ""
    server, why = start_temp_cluster()
    if server is None:
        return None, f"${ENV_URL} is not set and no local server could be started: {why}"
    return server, ""


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` with its search_path set to ``schema`` (psycopg ``options``)."""
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options={quote(f'-csearch_path={schema}', safe='')}"


def _psycopg_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    parts = {"host": u.host or "127.0.0.1", "port": u.port or 5432, "user": u.username or "postgres",
             "dbname": u.database or "postgres"}
    if u.password:
        parts["password"] = u.password
    return " ".join(f"{k}={v}" for k, v in parts.items())


def create_schema(base_url: str) -> tuple[str, str]:
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(_psycopg_conninfo(base_url), autocommit=True, connect_timeout=10) as con:
        con.execute(f'CREATE SCHEMA "{name}"')
    return name, schema_url(base_url, name)


def drop_schema(base_url: str, name: str) -> None:
    import psycopg

    for _ in range(3):
        try:
            with psycopg.connect(_psycopg_conninfo(base_url), autocommit=True, connect_timeout=10) as con:
                con.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            return
        except Exception:
            time.sleep(0.5)
