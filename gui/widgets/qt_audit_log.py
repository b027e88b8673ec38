"""The audit log dock: the newest events of the store in words, filterable by text
(a review id, a product title, a flag kind...); the stored details are in the tooltips."""
from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QLineEdit, QTableView, QToolButton, QVBoxLayout, QWidget

from .. import queries
from ..models.audit_model import AuditFilterProxy, AuditLogModel
from ..store import Store
from ..theme import icon


class QtAuditLog(QWidget):
    LIMIT = 500

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._generation = 0
        self.audit_model = AuditLogModel(self)
        self.proxy = AuditFilterProxy(self)
        self.proxy.setSourceModel(self.audit_model)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter by review id, product, person, action\u2026")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.refresh = QToolButton(self)
        self.refresh.setIcon(icon("refresh"))
        self.refresh.setToolTip("Reload the audit log")
        self.refresh.clicked.connect(self.reload)
        self.view = QTableView(self)
        self.view.setObjectName("auditTable")
        self.view.setModel(self.proxy)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((120, 80, 140, 240)):  # Target: a review id and a product title
            header.resizeSection(col, width)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.refresh)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)

    def reload(self) -> None:
        self._generation += 1
        gen = self._generation
        self._store.call(queries.load_audit, self.LIMIT, background=True,
                         on_result=lambda events: self._on_loaded(gen, events))

    def _on_loaded(self, gen: int, events) -> None:
        if gen == self._generation:
            self.audit_model.set_events(events)
