"""Custom item-data roles shared by the models and delegates."""
from PySide6.QtCore import Qt

RecordRole = Qt.ItemDataRole.UserRole + 1  # the plain dataclass behind a row
KeyRole = Qt.ItemDataRole.UserRole + 2  # primary key of the row's record
SortRole = Qt.ItemDataRole.UserRole + 3  # a raw value to sort on (numbers stay numbers)
ValueRole = Qt.ItemDataRole.UserRole + 4  # a float drawn as a bar
SearchRole = Qt.ItemDataRole.UserRole + 6  # the text a filter box matches a row against
ProgressRole = Qt.ItemDataRole.UserRole + 7  # how far a job filling the cell in is: 0..1, -1 unknown, None none
SubScoreRole = Qt.ItemDataRole.UserRole + 8  # a sub-score as drawn (gui.state.subscores.SubScoreView)
