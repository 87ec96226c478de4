"""The key-figures strip above the tabs: equity, uPnL, wallet, margin ratio, available."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from crossmargin.margin import AccountRisk
from desktop import formatting as fmt

RED_FROM = Decimal("0.8")  # default alert threshold (margin ratio fraction): red from here
AMBER_SHARE = Decimal("0.625")  # amber from 62.5 % of the alert threshold (50 % for 80 %)


def ratio_tone(
    ratio: Decimal | None, *, alert: Decimal = RED_FROM, liquidated: bool = False
) -> str:
    """``good`` / ``warn`` / ``bad`` for a margin ratio (1 = liquidation); red from ``alert``."""
    if liquidated:
        return "bad"
    if ratio is None:
        return "good"
    if ratio >= alert:
        return "bad"
    if ratio >= alert * AMBER_SHARE:
        return "warn"
    return "good"


class KeyFigureCard(QFrame):
    """A caption over a value (the value's colour follows its ``tone`` property)."""

    def __init__(self, caption: str, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("KeyFigureCard")
        self.caption = QLabel(caption)
        self.caption.setObjectName("KeyFigureCaption")
        self.value = QLabel(fmt.DASH)
        self.value.setObjectName("KeyFigureValue")
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        self.value.setFont(font)
        self.setToolTip(tip)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(12, 8, 12, 8)
        self.layout_.setSpacing(2)
        self.layout_.addWidget(self.caption)
        self.layout_.addWidget(self.value)
        self.layout_.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_value(self, text: str, tone: str = "") -> None:
        self.value.setText(text)
        if self.value.property("tone") != tone:
            self.value.setProperty("tone", tone)
            self.value.style().unpolish(self.value)
            self.value.style().polish(self.value)


class KeyFiguresBar(QWidget):
    """Shows one account's headline figures (settlement currency) from an AccountRisk."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._alert = RED_FROM
        self.equity = KeyFigureCard("Equity", "Wallet + isolated margins + all unrealized PnL")
        self.upnl = KeyFigureCard("Unrealized PnL", "All positions, at mark")
        self.wallet = KeyFigureCard("Wallet", "Cross wallet balance (excludes isolated margins)")
        self.ratio = KeyFigureCard(
            "Margin ratio", "Cross maintenance margin / cross margin balance; 100 % = liquidation"
        )
        self.ratio_bar = QProgressBar()
        self.ratio_bar.setObjectName("MarginRatioBar")
        self.ratio_bar.setRange(0, 1000)
        self.ratio_bar.setTextVisible(False)
        self.ratio_bar.setFixedHeight(8)
        self.ratio.layout_.addWidget(self.ratio_bar)
        self.available = KeyFigureCard(
            "Available", "Margin balance − cross initial margin (what new orders can use)"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        for card in (self.equity, self.upnl, self.wallet, self.ratio, self.available):
            layout.addWidget(card, 1)
        self.clear()

    def set_alert(self, alert: Decimal) -> None:
        self._alert = alert

    def clear(self) -> None:
        for card in (self.equity, self.upnl, self.wallet, self.ratio, self.available):
            card.set_value(fmt.DASH)
        self.ratio_bar.setValue(0)
        self._set_bar_tone("good")

    def set_risk(self, risk: AccountRisk) -> None:
        s = risk.settle
        self.equity.set_value(fmt.money(risk.equity, s, unit=True))
        pnl = risk.unrealized_pnl
        self.upnl.set_value(
            fmt.money(pnl, s, sign=True, unit=True), "good" if pnl > 0 else "bad" if pnl < 0 else ""
        )
        self.wallet.set_value(fmt.money(risk.wallet_balance, s, unit=True))
        self.available.set_value(
            fmt.money(risk.available_balance, s, unit=True),
            "bad" if risk.available_balance < 0 else "",
        )
        tone = ratio_tone(risk.margin_ratio, alert=self._alert, liquidated=risk.cross_liquidated)
        if risk.cross_liquidated:
            self.ratio.set_value("Liquidated", "bad")
            self.ratio_bar.setValue(1000)
        elif risk.margin_ratio is None:
            self.ratio.set_value("No cross position")
            self.ratio_bar.setValue(0)
        else:
            self.ratio.set_value(fmt.percent(risk.margin_ratio), tone)
            self.ratio_bar.setValue(int(min(Decimal(1), max(Decimal(0), risk.margin_ratio)) * 1000))
        self._set_bar_tone(tone)

    def _set_bar_tone(self, tone: str) -> None:
        if self.ratio_bar.property("tone") != tone:
            self.ratio_bar.setProperty("tone", tone)
            self.ratio_bar.style().unpolish(self.ratio_bar)
            self.ratio_bar.style().polish(self.ratio_bar)
