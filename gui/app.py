"""``reviewscope [--db URL] [FILE...]``: open the triage app.

With no ``--db`` it opens the default database in the user data folder and, when that
database is empty, imports the bundled sample catalogue. FILE arguments are catalogues
(folders or files) to import, one transaction each, with a progress dialog.
"""
from __future__ import annotations

import argparse
import gc
import sys
from typing import Optional, Sequence

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from .settings import Settings
from .theme import icon


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="reviewscope", description="Moderate product reviews with the MM-SS model.")
    parser.add_argument("--db", metavar="URL", default=None,
                        help="SQLAlchemy URL or SQLite file (default: the database in the user data folder)")
    parser.add_argument("--no-sample", action="store_true", help="do not import the bundled sample into an empty database")
    parser.add_argument("files", nargs="*", metavar="FILE", help="catalogue folders or files to import")
    return parser.parse_args(argv)


def create_app(argv: Sequence[str]) -> QApplication:
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    QCoreApplication.setOrganizationName("ReviewScope")
    QCoreApplication.setApplicationName("ReviewScope")
    app = QApplication.instance() or QApplication(list(argv))
    app.setWindowIcon(icon("app"))
    return app


def settle_heap() -> None:
    """Move every object alive now to the garbage collector's permanent generation (``gc.freeze``):
    the imported modules, the window and its widgets, about 100,000 objects that the app makes once
    and keeps until it quits. Python's full collections otherwise walk them all each time, stopping
    whichever thread triggers one, the GUI thread included, at a moment nobody chooses: 80-100 ms
    with a 100,000-review catalogue open on a 2-core machine, against 10-12 ms after the freeze
    (the ~40,000 objects made since: pages, rows, the store's engine). Called once the window is
    made and before the store starts any job, so nothing half-built by a worker is frozen; what is
    garbage already is collected first (~60 ms, at start-up)."""
    gc.collect()  # what is garbage already is freed, not kept for ever
    gc.freeze()


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = create_app(sys.argv[:1])
    from .widgets.qt_main_window import QtMainWindow  # after QApplication exists

    window = QtMainWindow(Settings(), import_sample_when_empty=not args.no_sample)
    window.show()
    settle_heap()  # before any job starts: only the modules and the window are alive
    window.open_database(args.db, args.files)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
