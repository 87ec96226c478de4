"""The What-if tab's widget assembly: every widget of :class:`~desktop.whatif.panel.
WhatIfPanel` created and laid out in one place (the panel wires and fills them)."""


from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import (
    Qt,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .charts import LadderChart, ShockChart
from .collateral import CollateralBox
from .delegates import ValidatingLineDelegate
from .models import (
    BookColumn,
    CascadeColumn,
    WeightColumn,
)
from .plan import ShockMode

SCENARIO_FILTER = "CrossMargin scenario (*.json);;All files (*)"
STEPS_PER_UNIT = 1000  # slider steps per unit of t: 0.1 % per step



if TYPE_CHECKING:
    from desktop.whatif.panel import WhatIfPanel


def build_ui(self: WhatIfPanel) -> None:
    """Assemble the What-if tab's widgets on ``self`` (toolbar, book, cascade,
    collateral, charts); the panel connects and fills them."""
    outer = QVBoxLayout(self)
    outer.setContentsMargins(6, 6, 6, 6)
    outer.setSpacing(6)

    self.banner = QFrame()
    self.banner.setObjectName("WhatIfBanner")
    banner_box = QHBoxLayout(self.banner)
    banner_box.setContentsMargins(10, 6, 6, 6)
    self.banner_text = QLabel()
    self.banner_text.setObjectName("WhatIfBannerText")
    self.banner_text.setWordWrap(True)
    self.banner_text.setTextFormat(Qt.TextFormat.PlainText)
    banner_box.addWidget(self.banner_text, 1)
    self.banner.setVisible(False)
    outer.addWidget(self.banner)

    controls = QHBoxLayout()
    controls.setSpacing(6)
    self.add_button = QPushButton("Add position…")
    self.add_button.setToolTip("Add a hypothetical position to the what-if")
    self.remove_button = QPushButton("Remove")
    self.remove_button.setToolTip("Remove the selected hypothetical position (Delete)")
    self.reset_button = QPushButton("Reset to live")
    self.reset_button.setToolTip(
        "Forget every what-if edit and the shock; follow the live book"
    )
    self.open_button = QPushButton("Open…")
    self.open_button.setToolTip("Open a scenario file (JSON) and explore it")
    self.save_button = QPushButton("Save…")
    self.save_button.setToolTip("Save the what-if book as a scenario file (JSON)")
    for button in (self.add_button, self.remove_button, self.reset_button,
                   self.open_button, self.save_button):
        controls.addWidget(button)
    controls.addSpacing(16)
    shock_title = QLabel("Shock")
    shock_title.setObjectName("WhatIfSectionTitle")
    controls.addWidget(shock_title)
    self.mode_combo = QComboBox()
    for mode in ShockMode:
        self.mode_combo.addItem(mode.label, mode.value)
    self.mode_combo.setToolTip(
        "Uniform: every mark moves by the shock. Per symbol: each symbol by its own move "
        "(the slider scales them). BTC beta: the slider is BTC's move, others follow by beta."
    )
    controls.addWidget(self.mode_combo)
    self.slider = QSlider(Qt.Orientation.Horizontal)
    self.slider.setObjectName("WhatIfShockSlider")
    self.slider.setSingleStep(1)
    self.slider.setPageStep(10)
    self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
    self.slider.setTickInterval(100)
    self.slider.setMinimumWidth(160)
    controls.addWidget(self.slider, 3)
    self.spin = QDoubleSpinBox()
    self.spin.setObjectName("WhatIfShockSpin")
    self.spin.setDecimals(1)
    self.spin.setSingleStep(0.5)
    self.spin.setSuffix(" %")
    self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
    self.spin.setMinimumWidth(86)
    controls.addWidget(self.spin)
    self.zero_button = QToolButton()
    self.zero_button.setText("0")
    self.zero_button.setToolTip("Back to today's marks (shock 0)")
    controls.addWidget(self.zero_button)
    outer.addLayout(controls)

    summary_row = QHBoxLayout()
    summary_row.setSpacing(10)
    self.source_label = QLabel()
    self.source_label.setObjectName("WhatIfSource")
    self.source_label.setMaximumWidth(300)
    self.source_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    summary_row.addWidget(self.source_label)
    self.summary = QLabel()
    self.summary.setObjectName("WhatIfSummary")
    self.summary.setWordWrap(True)
    self.summary.setTextFormat(Qt.TextFormat.RichText)
    self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    summary_row.addWidget(self.summary, 1)
    outer.addLayout(summary_row)

    self.splitter = QSplitter(Qt.Orientation.Horizontal)
    self.splitter.setChildrenCollapsible(False)
    self.splitter.splitterMoved.connect(
        lambda _pos, _i: self.splitter.setProperty("userMoved", True)
    )
    outer.addWidget(self.splitter, 1)

    # ---- left: the book, messages, per-symbol shock settings
    left = QWidget()
    left_box = QVBoxLayout(left)
    left_box.setContentsMargins(0, 0, 0, 0)
    left_box.setSpacing(6)

    self.book_view = QTableView()
    self.book_view.setObjectName("WhatIfBookTable")
    self.book_view.setModel(self.book_model)
    self.book_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    self.book_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    self.book_view.setAlternatingRowColors(True)
    self.book_view.setSortingEnabled(True)
    self.book_view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    self.book_view.setEditTriggers(
        QAbstractItemView.EditTrigger.DoubleClicked
        | QAbstractItemView.EditTrigger.EditKeyPressed
        | QAbstractItemView.EditTrigger.AnyKeyPressed
    )
    self.book_view.verticalHeader().setVisible(False)
    self.book_view.verticalHeader().setDefaultSectionSize(24)
    header = self.book_view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(False)
    header.setHighlightSections(False)
    header.setMinimumSectionSize(40)
    self.margin_delegate = ValidatingLineDelegate(self._check_margin, self.book_view)
    self.book_view.setItemDelegateForColumn(int(BookColumn.MARGIN), self.margin_delegate)
    left_box.addWidget(self.book_view, 3)

    self.message = QLabel()
    self.message.setObjectName("InlineError")
    self.message.setWordWrap(True)
    self.message.setTextFormat(Qt.TextFormat.PlainText)
    self.message.setVisible(False)
    left_box.addWidget(self.message)

    self.weights_box = QWidget()
    weights_layout = QVBoxLayout(self.weights_box)
    weights_layout.setContentsMargins(0, 0, 0, 0)
    weights_layout.setSpacing(2)
    self.weights_title = QLabel()
    self.weights_title.setObjectName("WhatIfSectionTitle")
    weights_layout.addWidget(self.weights_title)
    self.weights_view = QTableView()
    self.weights_view.setObjectName("WhatIfWeightsTable")
    self.weights_view.setModel(self.weights_model)
    self.weights_view.verticalHeader().setVisible(False)
    self.weights_view.verticalHeader().setDefaultSectionSize(22)
    self.weights_view.setAlternatingRowColors(True)
    self.weights_view.setEditTriggers(
        QAbstractItemView.EditTrigger.DoubleClicked
        | QAbstractItemView.EditTrigger.EditKeyPressed
        | QAbstractItemView.EditTrigger.AnyKeyPressed
    )
    wh = self.weights_view.horizontalHeader()
    wh.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    self.weight_delegate = ValidatingLineDelegate(self._check_weight, self.weights_view)
    self.weights_view.setItemDelegateForColumn(int(WeightColumn.VALUE), self.weight_delegate)
    self.weights_view.setMaximumHeight(150)
    weights_layout.addWidget(self.weights_view)
    left_box.addWidget(self.weights_box, 1)

    # the cascade (the order in which positions would go) under the book it explains
    cascade_col = QWidget()
    cascade_box = QVBoxLayout(cascade_col)
    cascade_box.setContentsMargins(0, 0, 0, 0)
    cascade_box.setSpacing(2)
    cascade_title = QLabel("Liquidation cascade (what-if)")
    cascade_title.setObjectName("WhatIfSectionTitle")
    cascade_box.addWidget(cascade_title)
    self.cascade_view = QTableView()
    self.cascade_view.setObjectName("WhatIfCascadeTable")
    self.cascade_view.setModel(self.cascade_model)
    self.cascade_view.verticalHeader().setVisible(False)
    self.cascade_view.verticalHeader().setDefaultSectionSize(22)
    self.cascade_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    self.cascade_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    self.cascade_view.setWordWrap(False)
    ch = self.cascade_view.horizontalHeader()
    ch.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    ch.setSectionResizeMode(int(CascadeColumn.POSITIONS), QHeaderView.ResizeMode.Stretch)
    ch.setMinimumSectionSize(24)
    self.cascade_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    self.cascade_view.setTextElideMode(Qt.TextElideMode.ElideRight)
    self.cascade_view.setMinimumHeight(96)
    self.cascade_view.installEventFilter(self)
    cascade_box.addWidget(self.cascade_view, 1)
    self.cascade_empty = QLabel("No liquidation within the shock axis")
    self.cascade_empty.setObjectName("EmptyHint")
    self.cascade_empty.setWordWrap(True)
    cascade_box.addWidget(self.cascade_empty)
    left_box.addWidget(cascade_col, 2)
    self.collateral_box = CollateralBox(self.viewmodel)
    self.collateral_box.problem.connect(self._show_message)
    left_box.addWidget(self.collateral_box)

    self.splitter.addWidget(left)

    # ---- right: the shock chart over the ladder
    right = QSplitter(Qt.Orientation.Vertical)
    right.setChildrenCollapsible(False)
    self.shock_chart = ShockChart()
    right.addWidget(self.shock_chart)

    ladder_col = QWidget()
    ladder_box = QVBoxLayout(ladder_col)
    ladder_box.setContentsMargins(0, 0, 0, 0)
    ladder_box.setSpacing(2)
    ladder_head = QHBoxLayout()
    ladder_title = QLabel("Liquidation ladder")
    ladder_title.setObjectName("WhatIfSectionTitle")
    ladder_head.addWidget(ladder_title)
    self.ladder_combo = QComboBox()
    self.ladder_combo.setObjectName("WhatIfLadderSymbol")
    self.ladder_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    ladder_head.addWidget(self.ladder_combo)
    self.ladder_legend = QLabel()
    self.ladder_legend.setObjectName("ChartReadout")
    self.ladder_legend.setTextFormat(Qt.TextFormat.RichText)
    self.ladder_legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    self.ladder_legend.setWordWrap(True)
    ladder_head.addStretch(1)
    ladder_box.addLayout(ladder_head)
    ladder_box.addWidget(self.ladder_legend)  # its own line: never squeezes the chart
    self.ladder_chart = LadderChart()
    ladder_box.addWidget(self.ladder_chart, 1)
    right.addWidget(ladder_col)
    right.setStretchFactor(0, 3)
    right.setStretchFactor(1, 2)
    self.right_splitter = right

    self.splitter.addWidget(right)
    self.splitter.setStretchFactor(0, 1)
    self.splitter.setStretchFactor(1, 1)
    self._sized = False

    QShortcut(QKeySequence.StandardKey.Delete, self.book_view, self._remove_selected)

