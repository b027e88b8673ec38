"""Fixtures for the GUI tests: a small catalogue in a tmp SQLite store and a real window."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

import hashlib
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The app runs the engine at nice 10 so that the window stays responsive; the tests check what
# the window does with the engine, not the scheduler, and on cores kept busy by other work a
# niced engine would only make the waits long.
os.environ.setdefault("REVIEWSCOPE_ENGINE_NICE", "0")

import pytest  # noqa: E402

from storage import repository as repo  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.models import Image, ImageLink, ModelVersion, Prediction, Product, Review  # noqa: E402
from storage.records import label_from_votes  # noqa: E402

BIG_REVIEWS = 1200  # more than two pages of the lazy review table
HTML_TEXT = "<b>html</b> is <i>not</i> rendered & <a href='x'>links</a> neither"


@dataclass
class Catalogue:
    url: str
    path: Path
    media_dir: Path
    product_pks: dict[str, int] = field(default_factory=dict)
    html_review_pk: int = 0
    image_review_pk: int = 0
    model_id: int = 0
    html_text: str = HTML_TEXT


def _png(width: int, height: int, rgb=(200, 80, 40)) -> bytes:
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.new("RGB", (width, height), rgb).save(buf, format="PNG")
    return buf.getvalue()


def _add_image(session, media_dir: Path, data: bytes, width: int, height: int, **owner) -> None:
    sha = hashlib.sha256(data).hexdigest()
    rel = f"{sha[:2]}/{sha}.png"
    (media_dir / sha[:2]).mkdir(parents=True, exist_ok=True)
    (media_dir / rel).write_bytes(data)
    img = Image(sha256=sha, relpath=rel, width=width, height=height, format="PNG", n_bytes=len(data))
    session.add(img)
    session.flush()
    session.add(ImageLink(image_id=img.id, position=0, **owner))


def build_catalogue(tmp_path: Path, big: int = BIG_REVIEWS) -> Catalogue:
    """Three products: a big scored one, a small scored one with images and an HTML
    review, and an unscored one; one active model version."""
    db_file = tmp_path / "store.db"
    db = open_database(str(db_file))
    cat = Catalogue(db.url, db_file, db.media_dir)
    db.media_dir.mkdir(parents=True, exist_ok=True)
    with db.begin() as s:
        mv = ModelVersion(name="v1", checkpoint_path="/models/v1.safetensors", checkpoint_sha256="ab" * 32,
                          card={"device": "cuda:0 (test card)"}, active=True)
        s.add(mv)
        products = [
            Product(product_id="P-KETTLE", title="Kettle", category="Kitchen", split="test"),
            Product(product_id="P-TREES", title="Memory of Trees", category="Books", split="test",
                    description="A novel."),
            Product(product_id="P-SHOE", title="Shoe", category="Clothing", split="train"),
        ]
        s.add_all(products)
        s.flush()
        cat.model_id = mv.id
        cat.product_pks = {p.product_id: p.id for p in products}
        kettle, trees, shoe = products
        reviews = []
        for i in range(big):
            votes = (i * 7) % 40
            reviews.append(Review(
                review_id=f"k-{i:05d}", product_pk=kettle.id, title=f"Kettle review {i}",
                text=f"Kettle text number {i}" + (" boils fast" if i % 10 == 0 else ""),
                rating=float(1 + i % 5), helpful_votes=votes, label=label_from_votes(votes), time=1_300_000_000 + i * 3600,
            ))
        trees_texts = [HTML_TEXT, "A moving story about trees.", "Did not arrive on time.", "Great gift", "Meh", "Lovely prose"]
        for i, text in enumerate(trees_texts):
            votes = [3, 20, 0, 1, 9, 5][i]
            reviews.append(Review(review_id=f"t-{i}", product_pk=trees.id, title=f"Trees {i}", text=text,
                                  rating=float(5 - i % 5), helpful_votes=votes, label=label_from_votes(votes),
                                  time=1_400_000_000 + i))
        for i in range(4):
            reviews.append(Review(review_id=f"s-{i}", product_pk=shoe.id, title=f"Shoe {i}", text=f"Shoe text {i}",
                                  rating=3.0, helpful_votes=i, label=label_from_votes(i)))
        s.add_all(reviews)
        s.flush()
        preds = []
        for r in reviews:
            if r.product_pk == shoe.id:
                continue  # unscored product
            n = int(r.review_id.split("-")[1])
            base = math.sin(n * 1.3) * 2.0
            subs = [round(math.sin(n * (k + 2) * 0.7) * (1.5 - 0.2 * k), 4) for k in range(5)]
            preds.append(Prediction(model_version_id=mv.id, review_pk=r.id, score=round(base, 4),
                                    s_pt_rt=subs[0], s_pv_rv=subs[1], s_pt_rv=subs[2], s_pv_rt=subs[3], s_rt_rv=subs[4]))
        s.add_all(preds)
        s.flush()
        repo.refresh_ranks(s, [kettle.id, trees.id], [mv.id])  # as write_predictions stores them (the queue reads them)
        cat.html_review_pk = next(r.id for r in reviews if r.review_id == "t-0")
        cat.image_review_pk = next(r.id for r in reviews if r.review_id == "t-1")
        _add_image(s, db.media_dir, _png(64, 48), 64, 48, review_pk=cat.image_review_pk)
        _add_image(s, db.media_dir, _png(120, 90, (30, 120, 200)), 120, 90, product_pk=trees.id)
    db.dispose()
    return cat


@pytest.fixture(scope="session")
def _del_probes(qapp):
    from ownership import install_del_probes

    return install_del_probes("gui")


@pytest.fixture(autouse=True)
def qt_ownership(qapp, _del_probes):
    """Fails the test when it leaves a QObject to be destroyed off the GUI thread, or when Qt
    warned about threads (the rules at the top of gui/workers.py)."""
    import ownership

    ownership.off_thread_deaths.clear()
    with ownership.ThreadMessages() as messages:
        yield messages  # a test that provokes a warning on purpose clears messages.seen
        cyclic = ownership.cyclic_qobjects()
    problems = [f"Qt: {m}" for m in messages.seen]
    problems += sorted(set(ownership.off_thread_deaths))
    problems += [f"{name} was kept alive only by a reference cycle (the collector may destroy it in any thread)"
                 for name in cyclic]
    if problems:
        pytest.fail("QObject ownership broken:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWSCOPE_DATA_DIR", str(tmp_path / "userdata"))


@pytest.fixture(scope="session")
def _catalogue_template(tmp_path_factory) -> Catalogue:
    return build_catalogue(tmp_path_factory.mktemp("catalogue"))


@pytest.fixture
def catalogue(_catalogue_template, tmp_path) -> Catalogue:
    """A private copy of the catalogue (tests write flags into it)."""
    import shutil

    src = _catalogue_template
    dst = tmp_path / "db"
    shutil.copytree(src.path.parent, dst)
    path = dst / src.path.name
    return Catalogue(f"sqlite:///{path}", path, dst / src.media_dir.name, dict(src.product_pks),
                     src.html_review_pk, src.image_review_pk, src.model_id)


@pytest.fixture
def settings(tmp_path):
    from gui.settings import Settings

    return Settings.at(tmp_path / "settings.ini")


@pytest.fixture
def open_db(catalogue):
    """A second connection to the test store, for checking what the GUI wrote."""
    db = open_database(catalogue.url)
    yield db
    db.dispose()


@pytest.fixture
def make_window(qtbot, settings):
    """Factory: a shown main window on a database, waited until its first product's
    reviews are on screen. Closes every window (and its workers) at the end."""
    from gui.widgets.qt_main_window import QtMainWindow

    windows = []

    def factory(url: str, *, wait: bool = True, import_paths=(), sample: bool = False,
                engine_command=None) -> QtMainWindow:
        window = QtMainWindow(settings, import_sample_when_empty=sample, engine_command=engine_command)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        window.open_database(url, import_paths)
        if wait:
            wait_idle(qtbot, window)
        return window

    yield factory
    for w in windows:
        w.close()


def wait_idle(qtbot, window, timeout: int = WAIT) -> None:
    """Until the window has its products, a product selected and no job running."""
    qtbot.waitUntil(
        lambda: window.store.db is not None
        and window.product_model.rowCount() > 0
        and window.app_state.current_product_pk is not None
        and not window.store.busy
        and not window.review_model.is_loading,
        timeout=timeout,
    )


@pytest.fixture
def idle(qtbot):
    """``idle(window)``: wait until the window has loaded and no job runs."""
    return lambda window, timeout=WAIT: wait_idle(qtbot, window, timeout)


@pytest.fixture
def focus(qtbot):
    """``focus(widget)``: activate its window and give it the keyboard focus."""

    def _focus(widget):
        widget.window().activateWindow()
        widget.setFocus()
        qtbot.waitUntil(widget.hasFocus, timeout=WAIT)

    return _focus


@pytest.fixture
def click_header(qtbot):
    """``click_header(table_view, column)``: a real mouse click on a header section."""
    from PySide6.QtCore import QPoint, Qt

    def _click(view, column: int) -> None:
        header = view.horizontalHeader()
        if view.model().rowCount():
            view.scrollTo(view.model().index(0, column))
        x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
        assert 0 <= x < header.viewport().width(), "header section not on screen"
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))

    return _click


@pytest.fixture
def message_boxes(monkeypatch):
    """Capture QMessageBox.exec instead of blocking: a list of (title, text)."""
    from PySide6.QtWidgets import QMessageBox

    seen: list[tuple[str, str]] = []

    def fake_exec(box):
        seen.append((box.windowTitle(), box.text()))
        return int(QMessageBox.StandardButton.Ok)

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    return seen


# --- training panel fixtures (tests/gui/test_training_*.py, test_models_view.py) -------------


@pytest.fixture(scope="session")
def tiny_encoder_path(tmp_path_factory) -> str:
    """A random 2-layer BERT (hidden 32) and its tokenizer, built once per session."""
    from helpers.tiny_engine import build_tiny_encoder

    return build_tiny_encoder(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture
def training_db(tmp_path) -> str:
    """URL of a fresh store holding a small labelled catalogue (train/dev/test) and no model."""
    from helpers.tiny_engine import make_catalogue

    url = f"sqlite:///{tmp_path / 'train.db'}"
    db = open_database(url)
    make_catalogue(db)
    db.dispose()
    return url
# --- end training panel fixtures ----------------------------------------------------------
