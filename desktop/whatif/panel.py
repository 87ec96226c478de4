"""The What-if tab: the whole book on one price-shock axis, current vs what-if.

Left: the book (toggles for isolated and close, editable isolated margin, current
and what-if liquidation prices), the shock controls (mode, slider, spin box,
per-symbol moves or betas) and the account figures at the slider's shock.
Right: equity and margin ratio against the shock with liquidation markers and the
cascade order beside it; below, the liquidation ladder of one symbol.

Views only adapt and draw: the numbers come from
:class:`~desktop.whatif.viewmodel.WhatIfViewModel` (engine calls on the task
runner's workers, latest wins); scenario files are read and written on workers
too (:mod:`crossmargin.scenario`). Input problems are shown inline (a red cell
and a message line), never in pop-ups.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QWidget,
)

from crossmargin.domain import AccountState, PositionId
from crossmargin.errors import InputError
from crossmargin.scenario import load_scenario, save_scenario
from desktop import formatting as fmt
from desktop.theme import DARK, LIGHT, Theme

from .compute import WhatIfSnapshot
from .dialogs import AddPositionDialog
from .models import (
    BookColumn,
    CascadeColumn,
    CascadeTableModel,
    ShockWeightsTableModel,
    WhatIfBookTableModel,
)
from .panel_layout import build_ui
from .plan import ShockMode, parse_decimal, parse_positive
from .viewmodel import TaskSubmitter, WhatIfViewModel

SCENARIO_FILTER = "CrossMargin scenario (*.json);;All files (*)"
STEPS_PER_UNIT = 1000  # slider steps per unit of t: 0.1 % per step


if TYPE_CHECKING:  # the widgets panel_layout.build_ui makes
    from PySide6.QtWidgets import (
        QComboBox,
        QDoubleSpinBox,
        QFrame,
        QLabel,
        QPushButton,
        QSlider,
        QSplitter,
        QTableView,
        QToolButton,
    )

    from .charts import LadderChart, ShockChart
    from .collateral import CollateralBox
    from .delegates import ValidatingLineDelegate


def theme_of(widget: QWidget) -> Theme:
    """The app theme matching ``widget``'s palette (dark when the window is dark)."""
    return DARK if widget.palette().window().color().lightness() < 128 else LIGHT


class WhatIfPanel(QWidget):
    """The What-if tab. Feed it the live book with :meth:`set_account_state`.

    ``scenario_changed`` is emitted whenever the what-if changes (an edit, the
    shock, the mode, a file opened or "Reset to live"). GUI thread only.
    """

    scenario_changed = Signal()

    # widgets made by panel_layout.build_ui
    _sized: bool
    add_button: QPushButton
    banner: QFrame
    banner_text: QLabel
    book_view: QTableView
    cascade_empty: QLabel
    cascade_view: QTableView
    collateral_box: CollateralBox
    ladder_chart: LadderChart
    ladder_combo: QComboBox
    ladder_legend: QLabel
    margin_delegate: ValidatingLineDelegate
    message: QLabel
    mode_combo: QComboBox
    open_button: QPushButton
    remove_button: QPushButton
    reset_button: QPushButton
    right_splitter: QSplitter
    save_button: QPushButton
    shock_chart: ShockChart
    slider: QSlider
    source_label: QLabel
    spin: QDoubleSpinBox
    splitter: QSplitter
    summary: QLabel
    weight_delegate: ValidatingLineDelegate
    weights_box: QWidget
    weights_title: QLabel
    weights_view: QTableView
    zero_button: QToolButton

    def __init__(self, *, tasks: TaskSubmitter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("WhatIfPanel")
        self._tasks = tasks
        self.viewmodel = WhatIfViewModel(tasks=tasks, parent=self)
        self._theme = theme_of(self)
        self._syncing = False
        self._book_answer: object | None = None
        self._ladder_symbol = ""
        self._last_dir = ""
        self._columns_fitted = False
        self._widths_restored = False

        self.book_model = WhatIfBookTableModel(self.viewmodel, self)
        self.weights_model = ShockWeightsTableModel(self.viewmodel, self)
        self.cascade_model = CascadeTableModel(self.viewmodel, self)

        self._build_ui()
        self._connect()
        self.set_theme(self._theme)
        self._refresh_source()
        self._refresh_shock_controls()
        self._refresh_summary(None)

    # -- public API ------------------------------------------------------------
    def set_account_state(self, state: AccountState) -> None:
        """The live book (marks update often); an opened scenario file takes precedence
        until "Reset to live"."""
        self.viewmodel.set_live(state)
        self._refresh_source()

    def clear_account(self) -> None:
        """The selected account has no book the engine accepted: show none."""
        self.viewmodel.clear_live()
        if self.viewmodel.base is None:  # an opened scenario file stays on screen
            self._book_answer = None
            self.shock_chart.clear()
            self.ladder_chart.clear()
            self._refresh_summary(None)
        self._refresh_source()

    def set_theme(self, theme: Theme) -> None:
        """Recolour tables and charts (the main window calls this when the theme changes)."""
        self._theme = theme
        for model in (self.book_model, self.weights_model, self.cascade_model):
            model.set_theme(theme)
        for delegate in (self.margin_delegate, self.weight_delegate):
            delegate.set_theme(theme)
        self.shock_chart.set_theme(theme)
        self.ladder_chart.set_theme(theme)
        self.setStyleSheet(
            f"""
            QFrame#WhatIfBanner {{ background: {theme.bad}; border-radius: 6px; }}
            QFrame#WhatIfBanner[level="warn"] {{ background: {theme.warn}; }}
            QLabel#WhatIfBannerText {{ color: #ffffff; font-weight: 600; }}
            QToolButton#WhatIfBannerClose {{ color: #ffffff; border: none; font-weight: 700; }}
            QLabel#InlineError {{ color: {theme.bad}; }}
            QLabel#WhatIfSource {{ font-weight: 700; }}
            QLabel#WhatIfSource[scenario="true"] {{ color: {theme.warn}; }}
            QLabel#WhatIfSummary {{ color: {theme.text}; }}
            QLabel#WhatIfSectionTitle {{ color: {theme.muted}; font-weight: 600; }}
            QLineEdit[invalid="true"], QComboBox[invalid="true"] {{
                border: 2px solid {theme.bad}; border-radius: 3px; }}
            """
        )
        if self.viewmodel.snapshot is not None:
            self._refresh_summary(self.viewmodel.snapshot)
        self._refresh_ladder()

    def ui_state(self) -> dict[str, QByteArray]:
        """Splitter positions and book column widths, for the main window's QSettings."""
        return {
            "splitter": self.splitter.saveState(),
            "right_splitter": self.right_splitter.saveState(),
            "book_header": self.book_view.horizontalHeader().saveState(),
        }

    def restore_ui_state(self, state: Mapping[str, object]) -> None:
        """Undo :meth:`ui_state` (values that are not ``QByteArray`` are ignored)."""
        value = state.get("splitter")
        if isinstance(value, QByteArray) and self.splitter.restoreState(value):
            self.splitter.setProperty("userMoved", True)
        value = state.get("right_splitter")
        if isinstance(value, QByteArray):
            self.right_splitter.restoreState(value)
        value = state.get("book_header")
        if isinstance(value, QByteArray) and self.book_view.horizontalHeader().restoreState(value):
            self._columns_fitted = True
            self._widths_restored = True

    def open_scenario(self, path: str | Path) -> None:
        """Read a scenario file on a worker and explore it (errors shown inline)."""
        path = Path(path)
        self._tasks.submit(
            load_scenario,
            path,
            key=f"whatif-open-{id(self)}",
            on_success=lambda state, p=path: self._on_opened(state, p),
            on_error=lambda exc, p=path: self._show_file_error("open", p, exc),
        )

    def save_scenario(self, path: str | Path) -> None:
        """Write the what-if book (the book after every edit) to ``path`` on a worker."""
        path = Path(path)
        try:
            state = self.viewmodel.whatif_state()
        except InputError as exc:
            self._show_message("; ".join(exc.problems))
            return
        label = state.label or "scenario"
        if self.viewmodel.plan.has_book_changes and "what-if" not in label:
            state = state.with_(label=f"{label} (what-if)")
        self._tasks.submit(
            save_scenario,
            state,
            path,
            serial=True,
            on_success=lambda _r, p=path: self._show_info(f"Saved the what-if to {p.name}"),
            on_error=lambda exc, p=path: self._show_file_error("save", p, exc),
        )

    # -- building ------------------------------------------------------------------
    def _build_ui(self) -> None:
        build_ui(self)

    def _connect(self) -> None:
        vm = self.viewmodel
        vm.snapshot_ready.connect(self._on_snapshot)
        vm.compute_failed.connect(self._on_compute_failed)
        vm.plan_changed.connect(self._on_plan_changed)
        vm.rows_changed.connect(self._on_rows_changed)
        vm.source_changed.connect(lambda _s: self._refresh_source())
        self.book_model.input_rejected.connect(self._show_message)
        self.book_model.input_accepted.connect(self._clear_message)
        self.weights_model.input_rejected.connect(self._show_message)
        self.weights_model.input_accepted.connect(self._clear_message)
        self.margin_delegate.feedback.connect(self._on_feedback)
        self.weight_delegate.feedback.connect(self._on_feedback)
        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self._on_spin)
        self.zero_button.clicked.connect(lambda: self.viewmodel.set_shock(Decimal(0)))
        self.shock_chart.shock_dragged.connect(self._on_chart_drag)
        self.mode_combo.currentIndexChanged.connect(self._on_mode)
        self.ladder_combo.currentTextChanged.connect(self._on_ladder_symbol)
        self.book_view.selectionModel().currentRowChanged.connect(self._on_current_row)
        self.add_button.clicked.connect(self._add_position)
        self.remove_button.clicked.connect(self._remove_selected)
        self.reset_button.clicked.connect(self._reset)
        self.open_button.clicked.connect(self._open_dialog)
        self.save_button.clicked.connect(self._save_dialog)

    # -- view-model reactions -----------------------------------------------------
    def _on_snapshot(self, snapshot: WhatIfSnapshot) -> None:
        if snapshot.book is not self._book_answer:
            self._book_answer = snapshot.book
            settle = self.viewmodel.base.settle if self.viewmodel.base else ""
            self.shock_chart.set_curves(
                snapshot.book.curves,
                settle=settle,
                axis_title=snapshot.plan.shock_mode.axis_title,
            )
            self.cascade_empty.setVisible(not snapshot.book.cascade)
            self.cascade_view.setVisible(bool(snapshot.book.cascade))
        self.shock_chart.set_shock(float(snapshot.shock) * 100.0)
        if not self._columns_fitted:
            self._columns_fitted = True
            self._fit_book_columns()
        self._refresh_summary(snapshot)
        self._refresh_banner(snapshot)
        self._refresh_ladder()
        result = snapshot.book.whatif
        self.collateral_box.refresh(result.before, result.after)

    def _on_compute_failed(self, message: str) -> None:
        self._set_banner(f"The what-if could not be computed: {message}", level="warn")

    def _on_plan_changed(self) -> None:
        self.collateral_box.refresh()
        self._refresh_shock_controls()
        self._refresh_buttons()
        self.scenario_changed.emit()

    def _on_rows_changed(self) -> None:
        symbols = self.viewmodel.symbols()
        current = self._ladder_symbol
        self.ladder_combo.blockSignals(True)
        self.ladder_combo.clear()
        self.ladder_combo.addItems(symbols)
        self.ladder_combo.blockSignals(False)
        if current in symbols:
            self.ladder_combo.setCurrentText(current)
        elif symbols:
            self.ladder_combo.setCurrentIndex(0)
        self._ladder_symbol = self.ladder_combo.currentText()
        self._columns_fitted = self._widths_restored
        self._refresh_buttons()
        self._refresh_ladder()

    # -- shock controls ---------------------------------------------------------------
    def _refresh_shock_controls(self) -> None:
        plan = self.viewmodel.plan
        lo, hi = self.viewmodel.shock_limits()
        lo_steps = math.ceil(lo * STEPS_PER_UNIT)
        hi_steps = math.floor(hi * STEPS_PER_UNIT)
        self._syncing = True
        try:
            index = self.mode_combo.findData(plan.shock_mode.value)
            if index != self.mode_combo.currentIndex():
                self.mode_combo.setCurrentIndex(index)
            self.slider.setRange(lo_steps, hi_steps)
            self.slider.setValue(int((plan.shock * STEPS_PER_UNIT).to_integral_value()))
            self.spin.setRange(lo_steps / 10.0, hi_steps / 10.0)
            self.spin.setValue(float(plan.shock * 100))
        finally:
            self._syncing = False
        mode = plan.shock_mode
        self.weights_box.setVisible(mode is not ShockMode.UNIFORM)
        self.weights_title.setText(
            "Beta to BTC per symbol (double-click to edit)"
            if mode is ShockMode.BETA
            else "Move per symbol at 100 % (double-click to edit)"
        )
        tip = {
            ShockMode.UNIFORM: "Every mark moves by this much",
            ShockMode.PER_SYMBOL: "Share of the per-symbol moves applied (100 % = as typed)",
            ShockMode.BETA: "BTC's move; other symbols move by their beta",
        }[mode]
        self.slider.setToolTip(tip)
        self.spin.setToolTip(tip)

    def _on_slider(self, value: int) -> None:
        if self._syncing:
            return
        self.viewmodel.set_shock(Decimal(value) / STEPS_PER_UNIT)

    def _on_spin(self, value: float) -> None:
        if self._syncing:
            return
        self.viewmodel.set_shock(Decimal(repr(round(value, 1))) / 100)

    def _on_chart_drag(self, percent: float) -> None:
        self.viewmodel.set_shock(Decimal(round(percent * 10)) / STEPS_PER_UNIT)

    def _on_mode(self, _index: int) -> None:
        if self._syncing:
            return
        data = self.mode_combo.currentData()  # Qt hands StrEnum data back as plain str
        if data is not None:
            self.viewmodel.set_shock_mode(ShockMode(data))

    # -- summary, banner, ladder ----------------------------------------------------------
    def _shock_label(self, shock: Decimal) -> str:
        mode = self.viewmodel.plan.shock_mode
        text = fmt.percent(shock, decimals=1, sign=True)
        if mode is ShockMode.PER_SYMBOL:
            return f"{text} of the moves"
        if mode is ShockMode.BETA:
            return f"BTC {text}"
        return text

    def _refresh_summary(self, snapshot: WhatIfSnapshot | None) -> None:
        base = self.viewmodel.base
        if base is None or snapshot is None:
            self.summary.setText(
                "No account loaded: select an account or open a scenario file."
                if base is None else "Computing…"
            )
            return
        s = snapshot.summary
        settle = base.settle
        t = self._theme

        def pair(now: str, whatif: str, worse: bool) -> str:
            colour = t.bad if worse else t.text
            return f"{now} → <b style='color:{colour}'>{whatif}</b>"

        def ratio(value: Decimal | None) -> str:
            return "—" if value is None else fmt.percent(value, decimals=1)

        ratio_worse = (s.ratio_whatif is None and s.ratio_now is not None) or (
            s.ratio_whatif is not None and s.ratio_now is not None and s.ratio_whatif > s.ratio_now
        )
        parts = [
            f"<b>At {self._shock_label(s.shock)}</b>",
            "equity " + pair(
                fmt.money(s.equity_now, settle), fmt.money(s.equity_whatif, settle),
                s.equity_whatif < s.equity_now,
            ) + f" {settle}",
            "margin ratio " + pair(ratio(s.ratio_now), ratio(s.ratio_whatif), ratio_worse),
            "liquidated " + pair(
                str(s.liquidated_count_now), str(s.liquidated_count_whatif),
                s.liquidated_count_whatif > s.liquidated_count_now,
            ),
            "available now " + pair(
                fmt.money(s.available_now, settle), fmt.money(s.available_whatif, settle),
                s.available_whatif < s.available_now,
            ),
        ]
        self.summary.setText(" · ".join(parts))

    def _refresh_banner(self, snapshot: WhatIfSnapshot) -> None:
        if snapshot.liquidated_at_once:
            names = [
                f"{label} ({pid})"
                for label, pid in zip(snapshot.at_once_labels, snapshot.liquidated_at_once,
                                      strict=True)
            ]
            shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
            count = len(names)
            noun = "position" if count == 1 else "positions"
            self._set_banner(
                f"⚠ This what-if liquidates {count} {noun} at once: {shown}. "
                "Add isolated margin or undo the change.",
                level="bad",
            )
        else:
            self._set_banner("", level="bad")

    def _set_banner(self, text: str, *, level: str) -> None:
        self.banner.setProperty("level", level)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        self.banner_text.setText(text)
        self.banner.setVisible(bool(text))

    def _refresh_ladder(self) -> None:
        snapshot = self.viewmodel.snapshot
        symbol = self._ladder_symbol
        ladder = snapshot.ladders.get(symbol) if snapshot is not None else None
        formats = self.book_model.formats()
        self.ladder_chart.set_ladder(
            ladder, price_text=lambda value: formats.price(symbol, value)
        )
        t = self._theme
        mark = shocked = ""
        if ladder is not None:
            mark = "&nbsp;" + formats.price(symbol, ladder.mark_live)
            if snapshot is not None and ladder.mark_shocked != ladder.mark_live:
                shocked = (
                    f"&nbsp;at&nbsp;{self._shock_label(snapshot.shock).replace(' ', '&nbsp;')}:"
                    f"&nbsp;{formats.price(symbol, ladder.mark_shocked)}"
                )
        erosion = ""
        base = snapshot.book.whatif.state if snapshot is not None else None
        coin = symbol.split("/")[0]
        held = base.collateral_of(coin) if base is not None and base.multi_asset else None
        if held is not None and held.amount > 0:
            erosion = (f"<br><span style='color:{t.muted}'>The {coin} held as collateral "
                       f"falls with {coin}: these prices count it.</span>")
        self.ladder_legend.setText(
            f"<span style='color:{t.chart_fg}'>━&nbsp;mark{mark}</span>&nbsp; "
            f"<span style='color:{t.accent}'>┈&nbsp;{shocked or 'at&nbsp;shock'}</span>&nbsp; "
            f"<span style='color:{t.muted}'>╍&nbsp;LP&nbsp;now</span>&nbsp; "
            f"<span style='color:{t.bad}'>━&nbsp;LP&nbsp;what-if</span>{erosion}"
        )

    def _on_ladder_symbol(self, symbol: str) -> None:
        self._ladder_symbol = symbol
        self._refresh_ladder()

    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._refresh_buttons()
        if not current.isValid():
            return
        position, _ = self.book_model.position_at(current.row())
        if position.symbol != self._ladder_symbol:
            self.ladder_combo.setCurrentText(position.symbol)

    # -- inline messages --------------------------------------------------------------------
    def _show_message(self, text: str, *, info: bool = False) -> None:
        """The inline message line under the book: a problem (red) or, with ``info``,
        a confirmation (green). Empty text hides it."""
        self.message.setStyleSheet(f"color: {self._theme.good};" if info else "")
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _clear_message(self) -> None:
        self._show_message("")

    def _show_info(self, text: str) -> None:
        self._show_message(text, info=True)

    def _on_feedback(self, text: str) -> None:
        self._show_message(text)

    def _show_file_error(self, action: str, path: Path, exc: BaseException) -> None:
        if isinstance(exc, InputError):
            lines = exc.problems
        elif isinstance(exc, OSError):
            lines = [f"{path}: {exc.strerror or exc}"]
        else:
            lines = [f"{path}: {exc}"]
        head = f"Could not {action} {path.name}:"
        self._show_message("\n".join([head, *lines[:8]]) + (
            f"\n… and {len(lines) - 8} more problems" if len(lines) > 8 else ""
        ))

    def _check_margin(self, index: QModelIndex, text: str) -> str | None:
        base = self.viewmodel.base
        settle = base.settle if base else ""
        try:
            parse_positive(text, f"Isolated margin ({settle})")
        except ValueError as exc:
            return str(exc)
        return None

    def _check_weight(self, index: QModelIndex, text: str) -> str | None:
        symbol = self.weights_model.symbol_at(index.row())
        beta = self.viewmodel.plan.shock_mode is ShockMode.BETA
        what = f"Beta of {symbol}" if beta else f"Move of {symbol} (%)"
        try:
            parse_decimal(text.replace("%", "").replace("×", ""), what)
        except ValueError as exc:
            return str(exc)
        return None

    # -- actions ------------------------------------------------------------------------------
    def _refresh_source(self) -> None:
        vm = self.viewmodel
        base = vm.base
        if base is None:
            text = "No account loaded"
        elif vm.is_scenario:
            text = vm.source
        else:
            text = f"Live book · {base.label}" if base.label else "Live book"
        metrics = self.source_label.fontMetrics()
        self.source_label.setText(
            metrics.elidedText(text, Qt.TextElideMode.ElideRight, self.source_label.maximumWidth())
        )
        self.source_label.setToolTip(text)
        self.source_label.setProperty("scenario", vm.is_scenario)
        self.source_label.style().unpolish(self.source_label)
        self.source_label.style().polish(self.source_label)
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        vm = self.viewmodel
        loaded = vm.base is not None
        for button in (self.add_button, self.save_button):
            button.setEnabled(loaded)
        self.reset_button.setEnabled(
            vm.is_scenario or vm.plan.has_book_changes or vm.plan.shock != 0
        )
        self.remove_button.setEnabled(self._selected_hypothetical() is not None)

    def _selected_hypothetical(self) -> PositionId | None:
        index = self.book_view.currentIndex()
        if not index.isValid():
            return None
        position, hypothetical = self.book_model.position_at(index.row())
        return position.id if hypothetical else None

    def _remove_selected(self) -> None:
        pid = self._selected_hypothetical()
        if pid is not None:
            self.viewmodel.remove_added(pid)

    def _reset(self) -> None:
        self.book_model.clear_errors()
        self._clear_message()
        self.viewmodel.reset_to_live()
        self._refresh_source()

    def _add_position(self) -> None:
        base = self.viewmodel.base
        if base is None:
            return
        rows = self.viewmodel.rows()
        marks = {p.symbol: p.mark_price for p, _ in rows}
        templates = {p.symbol: p for p, hyp in rows if not hyp}
        dialog = AddPositionDialog(
            position_id=self.viewmodel.new_position_id(),
            settle=base.settle,
            marks=marks,
            templates=templates,
            tier_symbols=set(base.tiers),
            submit=self.viewmodel.add_position,
            theme=self._theme,
            parent=self,
        )
        current = self.book_view.currentIndex()
        if current.isValid():
            dialog.symbol.setCurrentText(self.book_model.position_at(current.row())[0].symbol)
        dialog.finished.connect(lambda _r, d=dialog: self._after_add(d))
        dialog.open()

    def _after_add(self, dialog: AddPositionDialog) -> None:
        if dialog.position is not None:
            row = self.book_model.row_of(dialog.position.id)
            if row >= 0:
                self.book_view.selectionModel().setCurrentIndex(
                    self.book_model.index(row, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
                self.book_view.scrollTo(self.book_model.index(row, 0))
        dialog.deleteLater()

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open scenario", self._last_dir, SCENARIO_FILTER
        )
        if path:
            self._last_dir = str(Path(path).parent)
            self.open_scenario(path)

    def _save_dialog(self) -> None:
        if self.viewmodel.base is None:
            return
        start = str(Path(self._last_dir or ".") / "whatif.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save what-if scenario", start, SCENARIO_FILTER)
        if path:
            if not path.lower().endswith(".json"):
                path += ".json"
            self._last_dir = str(Path(path).parent)
            self.save_scenario(path)

    def _on_opened(self, state: AccountState, path: Path) -> None:
        self.book_model.clear_errors()
        self._clear_message()
        self.viewmodel.open_state(state, f"Scenario · {path.name}")
        self._refresh_source()

    # -- layout helpers ---------------------------------------------------------------------
    def _fit_book_columns(self) -> None:
        """Size columns to their contents (first 200 rows), toggles to their header."""
        view = self.book_view
        header = view.horizontalHeader()
        metrics = view.fontMetrics()
        rows = min(self.book_model.rowCount(), 200)
        for column in BookColumn:
            title = str(self.book_model.headerData(int(column), Qt.Orientation.Horizontal))
            width = max(metrics.horizontalAdvance(line) for line in title.split("\n")) + 22
            if column not in (BookColumn.ISOLATED, BookColumn.CLOSE):
                for row in range(rows):
                    text = self.book_model.index(row, int(column)).data()
                    if text:
                        width = max(width, metrics.horizontalAdvance(str(text)) + 16)
            header.resizeSection(int(column), min(width, 170))
        if self._sized:
            self._apply_split()

    def _apply_split(self) -> None:
        """Give the book what its columns need (40–54 % of the width, 60 % when narrow),
        the charts the rest,
        unless the user moved the splitter."""
        if self.splitter.property("userMoved"):
            return
        width = max(self.splitter.width(), self.width() - 12)
        view = self.book_view
        needed = (
            view.horizontalHeader().length()
            + view.verticalScrollBar().sizeHint().width()
            + 2 * view.frameWidth()
            + 4
        )
        # narrow (1024 px screens): the book's columns first, the charts keep 40 %
        most = 0.60 if width < 1100 else 0.54
        left = int(min(max(needed, width * 0.40), width * most))
        self.splitter.setSizes([left, width - left])

    def showEvent(self, event: QShowEvent) -> None:
        if not self._sized:
            self._sized = True
            self._apply_split()
        super().showEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._sized:
            self._apply_split()

    NARROW_CASCADE = 300  # px: below this the "Now" column yields its room to "Who"

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.cascade_view and event.type() == QEvent.Type.Resize:
            # at 1280×800 the cascade is ~230 px wide: "Who" (the names) matters more
            # than "Now" (also in the header tooltip of What-if and each row's tooltip)
            narrow = self.cascade_view.width() < self.NARROW_CASCADE
            self.cascade_view.setColumnHidden(int(CascadeColumn.NOW), narrow)
        return super().eventFilter(watched, event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            theme = theme_of(self)
            if theme is not self._theme:
                self.set_theme(theme)
        super().changeEvent(event)
