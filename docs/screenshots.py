"""Screenshots of the real window on the bundled sample, as a new user sees it after the first
launch (sample imported and scored by the starter model), at a laptop's 1280 x 800, in the
light and the dark theme, with the review detail and the training dock.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots.py [--out docs] [--size 1280x800]

Writes main-light.png, main-dark.png, training-light.png, training-dark.png, detail-light.png
and detail-dark.png (the detail pane's whole content), then, with a sub-score disputed:
dispute-detail.png (the chart marks it), dispute-menu.png (a bar's context menu),
dispute-chooser.png (D), flag-dialog.png (its sub-score rows) and models-disputes.png (the
Models view's counts) (offscreen Qt renders real pixels with ``QWidget.grab``). Look at them
before calling GUI work done.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _wait(app, cond, timeout: float = 600.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.02)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--size", default="1280x800")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))

    from PySide6.QtWidgets import QApplication

    from gui.settings import Settings
    from gui.widgets.qt_main_window import QtMainWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="rs-shots-"))
    w = QtMainWindow(Settings.at(tmp / "settings.ini"), import_sample_when_empty=True)
    w.resize(width, height)
    w.show()
    w.open_database(str(tmp / "sample.db"))
    _wait(app, lambda: w.app_state.active_model is not None and w.review_model.rowCount() > 0
          and not w.scoring.busy and not w.store.busy)
    w.review_table.view.setFocus()
    w.review_table.step(2)
    _wait(app, lambda: w.detail.bundle is not None)
    args.out.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark"):
        w.app_state.theme = theme
        w.queue_dock.raise_()
        _wait(app, lambda: not w.store.busy)
        for _ in range(20):
            app.processEvents()
        w.grab().save(str(args.out / f"main-{theme}.png"))
        w.detail.widget().grab().save(str(args.out / f"detail-{theme}.png"))  # the whole pane, unscrolled
        w.training_dock.raise_()
        for _ in range(20):
            app.processEvents()
        w.grab().save(str(args.out / f"training-{theme}.png"))
        print(f"wrote {args.out}/main-{theme}.png and training-{theme}.png")
    _dispute_shots(app, w, args.out)
    w.close()
    return 0


def _settle(app, w) -> None:
    _wait(app, lambda: not w.store.busy)
    for _ in range(20):
        app.processEvents()


def _dispute_shots(app, w, out: Path) -> None:
    """A sub-score disputed (the detail marks it), its menus, the flag dialog and the Models view."""
    w.app_state.theme = "light"
    pk = w.app_state.current_review_pk
    w.triage.dispute("p_t r_t", "too_high", pk)
    _wait(app, lambda: w.detail.bundle is not None and w.detail.chart.disputes == (("p_t r_t", "too_high"),))
    _settle(app, w)
    w.detail.widget().grab().save(str(out / "dispute-detail.png"))
    chart = w.detail.chart
    chart.open_menu_at(chart.rect().center())
    _settle(app, w)
    if chart.menu is not None:
        chart.menu.grab().save(str(out / "dispute-menu.png"))
        chart.menu.close()
    chart.open_chooser()
    _settle(app, w)
    if chart.menu is not None:
        chart.menu.actions()[0].menu().popup(chart.menu.pos())
        chart.menu.grab().save(str(out / "dispute-chooser.png"))
        chart.menu.close()
    w.open_flag_dialog()
    _wait(app, lambda: w._flag_dialog is not None and w._flag_dialog.isVisible())
    _settle(app, w)
    w._flag_dialog.grab().save(str(out / "flag-dialog.png"))
    w._flag_dialog.reject()
    w.models_dock.raise_()
    w.models_view.select([w.app_state.model_version_id])
    _wait(app, lambda: w.models_view.state.disputes is not None)
    _settle(app, w)
    w.grab().save(str(out / "models-disputes.png"))
    print(f"wrote {out}/dispute-*.png, flag-dialog.png and models-disputes.png")


if __name__ == "__main__":
    sys.exit(main())
