"""The form of the next run: device, data, start point, recipe, epochs, activation, estimate."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton,
    QSpinBox, QVBoxLayout, QWidget,
)

from .queries import TrainingInfo
from .setup import RECIPE_TITLES, ActivatePolicy, DeviceChoice, TrainingSetup, estimate_seconds, estimate_text

ACTIVATE_TEXT = {
    ActivatePolicy.IF_BETTER: "if it beats its parent on dev MAP",
    ActivatePolicy.ALWAYS: "always",
    ActivatePolicy.NEVER: "never (activate it in Models)",
}
DEVICE_TEXT = {DeviceChoice.AUTO: "auto (GPU when found)", DeviceChoice.CPU: "CPU", DeviceChoice.CUDA: "GPU (CUDA)"}


def _data_text(data: dict) -> str:
    if not data:
        return "Training data: loading\u2026"
    since = data.get("corrections_since", 0)
    return (f"{data.get('train_labelled', 0)} labelled reviews in {data.get('train_products', 0)} train products; "
            f"{data.get('dev_labelled', 0)} dev reviews choose the epoch. "
            f"{data.get('corrections', 0)} moderator corrections ({since} since the active model) override vote labels.")


class QtTrainingSetup(QWidget):
    """Binds to :class:`TrainingSetup`; :meth:`set_info` and :meth:`set_device` feed what the
    store and ``engine doctor`` report.

    Signals
    -------
    advanced_requested()
        "Advanced options" was clicked.
    """

    advanced_requested = Signal()

    def __init__(self, setup: TrainingSetup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._setup = setup
        self._info = TrainingInfo(None)
        self._cuda: Optional[bool] = None
        self.device_label = QLabel("Device: checking\u2026", self, objectName="paneTitle")
        self.data_label = QLabel(_data_text({}), self, objectName="muted")
        self.data_label.setWordWrap(True)
        self.from_active = QRadioButton("Continue from the active model", self)
        self.from_scratch = QRadioButton("From scratch:", self)
        self._start_group = QButtonGroup(self)
        self._start_group.addButton(self.from_active)
        self._start_group.addButton(self.from_scratch)
        self.recipe = QComboBox(self)
        self.epochs = QSpinBox(self)
        self.epochs.setRange(0, 1000)
        self.epochs.setSpecialValueText("default")
        self.epochs.setToolTip("Epochs (default: the recipe's, or the parent model's when continuing)")
        self.seed = QSpinBox(self)
        self.seed.setRange(0, 2**31 - 1)
        self.device = QComboBox(self)
        for choice, text in DEVICE_TEXT.items():
            self.device.addItem(text, choice)
        self.activate = QComboBox(self)
        for policy, text in ACTIVATE_TEXT.items():
            self.activate.addItem(text, policy)
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("mmss-vN")
        self.max_minutes = QDoubleSpinBox(self)
        self.max_minutes.setRange(0, 24 * 60)
        self.max_minutes.setDecimals(0)
        self.max_minutes.setSuffix(" min")
        self.max_minutes.setSpecialValueText("no time limit")
        self.max_minutes.setToolTip("Stop after this long and keep the best epoch so far")
        self.advanced = QPushButton("Advanced options\u2026", self)
        self.estimate = QLabel("", self, objectName="muted")
        self.estimate.setWordWrap(True)
        for label in (self.device_label, self.data_label, self.estimate):
            label.setTextFormat(Qt.TextFormat.PlainText)

        scratch_row = QHBoxLayout()
        scratch_row.addWidget(self.from_scratch)
        scratch_row.addWidget(self.recipe, 1)
        numbers = QHBoxLayout()
        numbers.addWidget(self.epochs, 1)
        numbers.addWidget(QLabel("seed", self))
        numbers.addWidget(self.seed, 1)
        limits = QHBoxLayout()
        limits.addWidget(self.device, 1)
        limits.addWidget(self.max_minutes, 1)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(3)
        form.addRow("Epochs", numbers)
        form.addRow("Device", limits)
        form.addRow("Activate", self.activate)
        form.addRow("Name", self.name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(3)
        layout.addWidget(self.device_label)
        layout.addWidget(self.data_label)
        layout.addWidget(self.from_active)
        layout.addLayout(scratch_row)
        layout.addLayout(form)
        bottom = QHBoxLayout()
        bottom.addWidget(self.advanced)
        bottom.addWidget(self.estimate, 1)
        layout.addLayout(bottom)
        layout.addStretch(1)

        self.from_active.toggled.connect(self._on_from_active_toggled)
        self.recipe.currentIndexChanged.connect(self._on_recipe_chosen)
        self.epochs.valueChanged.connect(lambda v: setattr(self._setup, "epochs", v or None))
        self.seed.valueChanged.connect(lambda v: setattr(self._setup, "seed", v))
        self.device.currentIndexChanged.connect(lambda i: setattr(self._setup, "device", self.device.itemData(i)))
        self.activate.currentIndexChanged.connect(lambda i: setattr(self._setup, "activate", self.activate.itemData(i)))
        self.name.editingFinished.connect(lambda: setattr(self._setup, "name", self.name.text()))
        self.max_minutes.valueChanged.connect(lambda v: setattr(self._setup, "max_minutes", v or None))
        self.advanced.clicked.connect(self.advanced_requested)
        ev = setup.events
        ev.catalog.connect(self._on_catalog_changed)
        ev.recipe.connect(self._on_setup_changed)
        ev.from_active.connect(self._on_setup_changed)
        ev.epochs.connect(self._on_setup_changed)
        ev.seed.connect(self._on_setup_changed)
        ev.device.connect(self._on_setup_changed)
        ev.activate.connect(self._on_setup_changed)
        ev.name.connect(self._on_setup_changed)
        ev.max_minutes.connect(self._on_setup_changed)
        ev.overrides.connect(self._on_setup_changed)
        self._on_catalog_changed(setup.catalog)

    # ------------------------------------------------------------ inputs from outside

    def set_info(self, info: TrainingInfo) -> None:
        self._info = info
        self.data_label.setText(_data_text(info.data))
        active = info.active
        self.from_active.setText(f"Continue from the active model, {active.name}" if active
                                 else "Continue from the active model (none yet)")
        self.from_active.setEnabled(active is not None)
        self._on_setup_changed()

    def set_device(self, device: str, cuda: Optional[bool]) -> None:
        self._cuda = cuda
        self.device_label.setText(f"Device: {device}")
        index = self.device.findData(DeviceChoice.CUDA)
        item = self.device.model().item(index)
        if item is not None:
            item.setEnabled(cuda is not False)
        if cuda is False and self._setup.device is DeviceChoice.CUDA:
            self._setup.device = DeviceChoice.AUTO
        if cuda and self._setup.recipe == "cpu-quick" and not self._info.past_runs:
            self._setup.recipe = "gpu-full"

    @property
    def continuing(self) -> bool:
        return self._setup.from_active and self._info.active is not None

    # ------------------------------------------------------------ widget -> setup

    def _on_from_active_toggled(self, checked: bool) -> None:
        self._setup.from_active = checked

    def _on_recipe_chosen(self, index: int) -> None:
        name = self.recipe.itemData(index)
        if name:
            self._setup.recipe = name

    # ------------------------------------------------------------ setup -> widget

    def _on_catalog_changed(self, catalog) -> None:
        self.recipe.blockSignals(True)
        self.recipe.clear()
        for name in catalog.recipes:
            self.recipe.addItem(RECIPE_TITLES.get(name, name), name)
        self.recipe.blockSignals(False)
        self._on_setup_changed()

    def _on_setup_changed(self, _value=None) -> None:
        s = self._setup
        continuing = self.continuing
        for widget, value in ((self.from_active, continuing), (self.from_scratch, not continuing)):
            if widget.isChecked() != value:
                widget.blockSignals(True)
                widget.setChecked(value)
                widget.blockSignals(False)
        self.recipe.setEnabled(not continuing)
        index = self.recipe.findData(s.recipe)
        if index >= 0 and index != self.recipe.currentIndex():
            self.recipe.blockSignals(True)
            self.recipe.setCurrentIndex(index)
            self.recipe.blockSignals(False)
        for widget, value in ((self.epochs, s.epochs or 0), (self.seed, s.seed), (self.max_minutes, s.max_minutes or 0)):
            if widget.value() != value:
                widget.blockSignals(True)
                widget.setValue(value)
                widget.blockSignals(False)
        for combo, value in ((self.device, s.device), (self.activate, s.activate)):
            i = combo.findData(value)
            if i != combo.currentIndex():
                combo.blockSignals(True)
                combo.setCurrentIndex(i)
                combo.blockSignals(False)
        if self.name.text() != s.name:
            self.name.setText(s.name)
        n = len(s.config_overrides(continuing))
        self.advanced.setText("Advanced options\u2026" + (f" ({n} changed)" if n else ""))
        self._update_estimate()

    def _update_estimate(self) -> None:
        s = self._setup
        parent_config = self._info.active.config if (self.continuing and self._info.active) else None
        epochs = int(s.value("epochs", parent_config) or 0)
        frozen = int(s.value("text_finetune_layers", parent_config) or 0) == 0
        seconds, source = estimate_seconds(epochs, int(self._info.data.get("train_labelled", 0) or 0), frozen,
                                           s.recipe, self._info.past_runs)
        self.estimate.setText(estimate_text(seconds, source))
