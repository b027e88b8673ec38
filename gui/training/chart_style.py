"""Colours and fonts shared by the training charts (one palette: a subtask has one colour)."""
from __future__ import annotations

from PySide6.QtCharts import QChart, QValueAxis
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from .state import SUBTASKS

SUBTASK_COLORS = dict(zip(SUBTASKS, ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")))
LIGHT_MAIN, DARK_MAIN = "#1f2933", "#f0f3f6"
LIGHT_BACKGROUND, DARK_BACKGROUND = "#ffffff", "#252a31"
STEP_COLOR = "#9aa5b1"
NDCG_COLOR = "#2c8c99"
BEST_COLOR = "#d9822b"


def pen(color: str, width: float = 1.5, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    p = QPen(QColor(color))
    p.setWidthF(width)
    p.setStyle(style)
    return p


def small_font(widget: QWidget) -> QFont:
    font = QFont(widget.font())
    font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
    return font


def new_chart(title: str) -> QChart:
    chart = QChart()
    chart.setTitle(title)
    chart.setMargins(QMargins(2, 2, 2, 2))
    chart.setBackgroundRoundness(0)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    return chart


def value_axis(title: str, fmt: str = "%.2g") -> QValueAxis:
    axis = QValueAxis()
    axis.setTitleText(title)
    axis.setLabelFormat(fmt)
    axis.setTickCount(5)
    return axis


def style_chart(view, dark: bool, axes) -> None:
    """Theme, background and small fonts; a theme switch resets fonts, so reapply them."""
    chart = view.chart()
    chart.setTheme(QChart.ChartTheme.ChartThemeDark if dark else QChart.ChartTheme.ChartThemeLight)
    # Explicit colours of the themes' views (resources/themes/*.qss): the palette may still be
    # the old theme's when this runs (the style sheet is applied by another slot of the switch).
    chart.setBackgroundBrush(QColor(DARK_BACKGROUND if dark else LIGHT_BACKGROUND))
    view.setBackgroundBrush(QColor(DARK_BACKGROUND if dark else LIGHT_BACKGROUND))
    font = small_font(view)
    chart.legend().setFont(font)
    title = QFont(font)
    title.setBold(True)
    chart.setTitleFont(title)
    for axis in axes:
        axis.setLabelsFont(font)
        axis.setTitleFont(font)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)


def fit(axis: QValueAxis, values, pad: float = 0.08, floor=None, ceil=None, minimum_span: float = 1e-3) -> None:
    """Axis range around ``values`` with a margin (clipped to ``floor``/``ceil``)."""
    values = [v for v in values if v is not None]
    if not values:
        return
    low, high = min(values), max(values)
    span = max(high - low, minimum_span, abs(high) * 0.05)
    low, high = low - pad * span, high + pad * span
    if floor is not None:
        low = max(low, floor)
    if ceil is not None:
        high = min(high, ceil)
    axis.setRange(low, high)


def set_epoch_range(axis: QValueAxis, epochs: float) -> None:
    """0..epochs with ticks on whole epochs only (1, 2 or 5 apart...: at most ~6 labels)."""
    epochs = max(1, int(epochs + 0.999))
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10**9) if epochs / s <= 6)
    axis.setTickType(QValueAxis.TickType.TicksDynamic)
    axis.setTickAnchor(0)
    axis.setTickInterval(step)
    axis.setRange(0, epochs)


def themed_color(palette: dict[str, tuple[str, str]], name: str, dark: bool, alpha: int = 255) -> QColor:
    """``palette[name]`` is a (light, dark) pair of colours: the one of the theme, with ``alpha``."""
    c = QColor(palette[name][1 if dark else 0])
    c.setAlpha(alpha)
    return c


def themed_painter(widget: QWidget, dark: bool) -> QPainter:
    """A QPainter on ``widget`` with antialiasing, its background filled in the theme's colour."""
    p = QPainter(widget)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.fillRect(widget.rect(), QColor(DARK_BACKGROUND if dark else LIGHT_BACKGROUND))
    return p
