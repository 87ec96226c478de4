"""Log a position by hand (stored in the journal).

Validation happens in place: a bad field turns red and the problem is listed under
the form, the dialog stays open (no popup storm). The dialog itself never writes:
it emits ``submitted(LogPositionRequest)``; the main window stores it on the task
queue and then calls :meth:`LogPositionDialog.show_problems` (the journal refused
it) or :meth:`accept`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from crossmargin.domain import MarginMode, RuleSet, Side
from crossmargin.tier_snapshots import EXCHANGE_NAMES
from desktop.dialogs.forms import clear_mark_on_edit, mark_invalid, problem_label
from desktop.dialogs.journal_dialogs import parse_local_time
from desktop.journal_ops import (
    AccountSummary,
    LogPositionRequest,
    NewAccountRequest,
)
from desktop.validation import parse_decimal_field

NEW_ACCOUNT = -1


class LogPositionDialog(QDialog):
    """The "Log a position" form. ``accounts``: the journal's accounts (manual ones listed)."""

    submitted = Signal(object)  # LogPositionRequest

    def __init__(
        self,
        *,
        accounts: Sequence[AccountSummary],
        current_account: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Log a position")
        self.setMinimumWidth(460)
        self.account = QComboBox()
        manual = [a for a in accounts if str(a.account.kind) == "manual"]
        self._generic: set[int] = set()  # accounts without an exchange's rules
        self._default_leverage: dict[int, Decimal] = {}
        for summary in manual:
            a = summary.account
            self.account.addItem(f"{a.label} ({a.settle})", int(a.id))
            if a.rules is RuleSet.GENERIC:
                self._generic.add(int(a.id))
            if a.default_leverage is not None:
                self._default_leverage[int(a.id)] = a.default_leverage
        self.account.addItem("New manual account…", NEW_ACCOUNT)
        if current_account is not None and self.account.findData(current_account) >= 0:
            self.account.setCurrentIndex(self.account.findData(current_account))
        self.new_label = QLineEdit("Manual")
        self.new_exchange = QComboBox()
        for exchange_id, name in EXCHANGE_NAMES.items():
            self.new_exchange.addItem(name, exchange_id)
        self.new_exchange.addItem("Other (generic rules, your own rate)", None)
        self.new_exchange.setToolTip(
            "The exchange the account trades on: its margin rules, its published tier "
            "tables (a bundled dated snapshot where needed) and its live public marks")
        self.new_settle = QLineEdit("USDT")
        self.new_wallet = QLineEdit()
        self.new_wallet.setPlaceholderText("Wallet balance as the exchange shows it, e.g. 10000")
        self.new_group = QGroupBox("New account")
        new_form = QFormLayout(self.new_group)
        new_form.addRow("Name", self.new_label)
        new_form.addRow("Exchange", self.new_exchange)
        new_form.addRow("Settlement currency", self.new_settle)
        new_form.addRow("Wallet balance", self.new_wallet)

        self.symbol = QLineEdit()
        self.symbol.setPlaceholderText("e.g. BTC/USDT:USDT")
        self.side = QComboBox()
        self.side.addItem("Long", Side.LONG)
        self.side.addItem("Short", Side.SHORT)
        self.contracts = QLineEdit()
        self.contracts.setPlaceholderText("Size in contracts (base units for linear)")
        self.entry = QLineEdit()
        self.mark = QLineEdit()
        self.mark.setPlaceholderText("optional: current mark price (default: entry)")
        self.leverage = QLineEdit("10")
        self.mode = QComboBox()
        self.mode.addItem("Cross", MarginMode.CROSS)
        self.mode.addItem("Isolated", MarginMode.ISOLATED)
        self.isolated_margin = QLineEdit()
        self.isolated_margin.setPlaceholderText("optional: default is the initial margin")
        self.mmr = QLineEdit()
        self.mmr.setPlaceholderText("required with generic rules, e.g. 0.005 (= 0.5 %)")
        self.mmr.setToolTip("Maintenance margin rate used for this symbol (0.005 = 0.5 %); "
                            "accounts on a named exchange use its tier tables instead")
        self.opened = QLineEdit(datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S"))
        self.opened.setToolTip("When the position was opened (local time)")
        self.fee = QLineEdit()
        self.fee.setPlaceholderText("optional: the opening fee, in the settlement currency")
        self.stop = QLineEdit()
        self.target = QLineEdit()
        self.setup_edit = QLineEdit()
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("comma separated, e.g. breakout, swing")
        self.notes = QPlainTextEdit()
        self.notes.setFixedHeight(60)

        form = QFormLayout()
        form.addRow("Account", self.account)
        form.addRow(self.new_group)
        form.addRow("Symbol", self.symbol)
        form.addRow("Side", self.side)
        form.addRow("Contracts", self.contracts)
        form.addRow("Entry price", self.entry)
        form.addRow("Mark price", self.mark)
        form.addRow("Leverage", self.leverage)
        form.addRow("Margin mode", self.mode)
        form.addRow("Isolated margin", self.isolated_margin)
        form.addRow("Maintenance rate", self.mmr)
        self._form = form
        form.addRow("Opened", self.opened)
        form.addRow("Fee", self.fee)
        form.addRow("Stop", self.stop)
        form.addRow("Target", self.target)
        form.addRow("Setup", self.setup_edit)
        form.addRow("Tags", self.tags)
        form.addRow("Notes", self.notes)

        self.problems = problem_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)

        self.account.currentIndexChanged.connect(self._sync_enabled)
        self.new_exchange.currentIndexChanged.connect(self._sync_enabled)
        self.mode.currentIndexChanged.connect(self._sync_enabled)
        clear_mark_on_edit(self._line_edits())
        # once Save has shown the problems, every keystroke checks the form again, so a
        # fixed field clears and a new mistake shows at once
        self._checked = False
        for edit in self._line_edits():
            edit.textChanged.connect(self._recheck)
        self.side.currentIndexChanged.connect(self._recheck)
        self._sync_enabled()

    def _line_edits(self) -> list[QLineEdit]:
        return [self.new_label, self.new_settle, self.new_wallet, self.symbol, self.contracts,
                self.entry, self.mark, self.leverage, self.isolated_margin, self.mmr,
                self.opened, self.fee, self.stop, self.target]

    def needs_rate(self) -> bool:
        """Generic rules (no exchange named): the maintenance rate must be typed."""
        chosen = self.account.currentData()
        if chosen == NEW_ACCOUNT:
            return self.new_exchange.currentData() is None
        return chosen in self._generic

    def _sync_enabled(self) -> None:
        chosen = self.account.currentData()
        self.new_group.setVisible(chosen == NEW_ACCOUNT)
        self.isolated_margin.setEnabled(self.mode.currentData() is MarginMode.ISOLATED)
        self._form.setRowVisible(self.mmr, self.needs_rate())
        lev = self._default_leverage.get(chosen) if chosen != NEW_ACCOUNT else None
        self.leverage.setPlaceholderText(
            f"default {lev}x (the account's)" if lev is not None else "e.g. 10")
        if not self.leverage.isModified():  # untouched: the account's default, else 10
            self.leverage.setText("" if lev is not None else "10")
        self.adjustSize()

    def show_problems(self, problems: Sequence[str]) -> None:
        """List problems under the form (the journal's, or the form's own)."""
        self.problems.setText("\n".join(f"• {p}" for p in problems))
        self.problems.setVisible(bool(problems))
        self.buttons.setEnabled(True)

    def invalid_fields(self) -> list[QLineEdit]:
        return [e for e in self._line_edits() if e.property("invalid")]

    def build_request(self) -> tuple[LogPositionRequest | None, list[str]]:
        """The typed position, or the problems (and the offending fields turn red)."""
        problems: list[str] = []
        values: dict[str, Decimal | None] = {}

        def number(edit: QLineEdit, key: str, name: str, **kw: bool) -> None:
            value, problem = parse_decimal_field(edit.text(), name, **kw)
            values[key] = value
            mark_invalid(edit, problem is not None)
            if problem:
                problems.append(problem)

        new_account = None
        if self.account.currentData() == NEW_ACCOUNT:
            label = self.new_label.text().strip()
            settle = self.new_settle.text().strip().upper()
            mark_invalid(self.new_label, not label)
            if not label:
                problems.append("New account name: required")
            mark_invalid(self.new_settle, not settle.isalnum())
            if not settle.isalnum():
                problems.append("Settlement currency: letters only, e.g. USDT")
            number(self.new_wallet, "wallet", "Wallet balance", positive=False)
            wallet = values["wallet"]
            if wallet is not None and wallet < 0:
                problems.append("Wallet balance: must be 0 or more")
                mark_invalid(self.new_wallet, True)
            if label and settle.isalnum() and wallet is not None and wallet >= 0:
                new_account = NewAccountRequest(label, settle, wallet,
                                                self.new_exchange.currentData())
        symbol = self.symbol.text().strip()
        mark_invalid(self.symbol, not symbol)
        if not symbol:
            problems.append("Symbol: required, e.g. BTC/USDT:USDT")
        number(self.contracts, "contracts", "Contracts")
        number(self.entry, "entry", "Entry price")
        number(self.mark, "mark", "Mark price", required=False)
        chosen = self.account.currentData()
        has_default = chosen != NEW_ACCOUNT and chosen in self._default_leverage
        number(self.leverage, "leverage", "Leverage", required=not has_default)
        isolated = self.mode.currentData() is MarginMode.ISOLATED
        if isolated:
            number(self.isolated_margin, "isolated", "Isolated margin", required=False)
        else:
            values["isolated"] = None
        if self.needs_rate():
            number(self.mmr, "mmr", "Maintenance rate", below_one=True)
        else:
            values["mmr"] = None
        number(self.stop, "stop", "Stop", required=False)
        number(self.target, "target", "Target", required=False)
        number(self.fee, "fee", "Fee", required=False, positive=False)
        opened, problem = parse_local_time(self.opened.text())
        mark_invalid(self.opened, problem is not None)
        if problem:
            problems.append(problem.replace("Time:", "Opened:"))
        entry, long_ = values.get("entry"), Side(self.side.currentData()) is Side.LONG
        for key, edit, name, below in (("stop", self.stop, "Stop", True),
                                       ("target", self.target, "Target", False)):
            level = values.get(key)
            if level is None or entry is None:
                continue
            # a long's stop is below its entry and its target above; a short's the reverse
            wrong = (level >= entry) if (below == long_) else (level <= entry)
            if wrong:
                side = "long" if long_ else "short"
                where = "below" if below == long_ else "above"
                problems.append(f"{name}: a {side}'s {name.lower()} is {where} the entry "
                                f"({entry}), got {level}")
                mark_invalid(edit, True)
        if problems:
            return None, problems
        account_id = self.account.currentData()
        tags = tuple(t.strip() for t in self.tags.text().split(",") if t.strip())
        request = LogPositionRequest(
            account_id=None if account_id == NEW_ACCOUNT else int(account_id),
            new_account=new_account,
            symbol=symbol,
            side=self.side.currentData(),
            contracts=values["contracts"],  # type: ignore[arg-type]
            entry_price=values["entry"],  # type: ignore[arg-type]
            leverage=values["leverage"],
            margin_mode=self.mode.currentData(),
            isolated_margin=values["isolated"],
            mark_price=values["mark"],
            stop_price=values["stop"],
            target_price=values["target"],
            maintenance_margin_rate=values["mmr"],
            opened_at=opened,
            fee=values["fee"],
            setup=self.setup_edit.text().strip(),
            notes=self.notes.toPlainText().strip(),
            tags=tags,
        )
        return request, []

    def _recheck(self, *_: object) -> None:
        if self._checked and self.buttons.isEnabled():  # not while the journal is storing it
            _request, problems = self.build_request()
            self.show_problems(problems)

    def submit(self) -> None:
        self._checked = True
        request, problems = self.build_request()
        if request is None:
            self.show_problems(problems)
            return
        self.show_problems([])
        self.buttons.setEnabled(False)  # until the journal answers
        self.submitted.emit(request)
