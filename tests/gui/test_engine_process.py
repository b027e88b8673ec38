"""The engine child process: the database URL reaches it through its environment, not argv."""
from __future__ import annotations

import json
import sys

from waits import LONG_WAIT

from gui.training.process import DB_ENV, QtEngineProcess, split_db_url

ECHO = r'''
import json, os, sys
print(json.dumps({"argv": sys.argv[1:], "db": os.environ.get("REVIEWSCOPE_DB")}), flush=True)
'''

SECRET_URL = "postgresql+psycopg://moderator:s3cret-pw@db.example:5432/reviews"


def test_split_db_url_takes_both_spellings_out():
    assert split_db_url(["score", "--db", "x.db", "--all"]) == (["score", "--all"], "x.db")
    assert split_db_url(["score", "--db=y.db"]) == (["score"], "y.db")
    assert split_db_url(["score"]) == (["score"], None)


def test_a_password_in_the_database_url_never_reaches_the_command_line(qtbot, tmp_path):
    script = tmp_path / "echo_engine.py"
    script.write_text(ECHO)
    proc = QtEngineProcess([sys.executable, str(script)], niceness=0)
    lines, codes = [], []
    proc.line.connect(lines.append)
    proc.finished.connect(lambda code, _tail: codes.append(code))
    proc.start(["score", "--db", SECRET_URL, "--json-progress"])
    qtbot.waitUntil(lambda: bool(codes), timeout=LONG_WAIT)
    seen = json.loads(lines[0])
    assert codes == [0]
    assert seen == {"argv": ["score", "--json-progress"], "db": SECRET_URL}
    assert "s3cret" not in proc.command_line(["score", "--db", SECRET_URL])
    proc.deleteLater()


def test_the_engine_reads_its_database_from_the_environment(monkeypatch):
    from engine.cli import build_parser

    monkeypatch.setenv(DB_ENV, "sqlite:///from-env.db")
    assert build_parser().parse_args(["score"]).db == "sqlite:///from-env.db"
    assert build_parser().parse_args(["score", "--db", "other.db"]).db == "other.db"
