"""Exchange accounts in the app: keys in the encrypted file are unlocked with a passphrase
prompt, then the account syncs; the selected account's marks stream live between syncs.

Against the sync tests' local replay server (recorded Binance USDⓈ-M answers).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossmargin.margin import evaluate
from crossmargin.storage import AccountKind as JournalAccountKind
from crossmargin.storage import Journal
from crossmargin.sync.config import AccountRegistry
from crossmargin.sync.secrets import PASSPHRASE_ENV, EncryptedFileStore, secrets_file_path
from desktop.session import EntryKind, EntryStatus
from tests.sync.conftest import KEYS, config_for, server_for

pytestmark = pytest.mark.gui

LABEL = "binance vault"
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def replay():
    with server_for("binanceusdm") as srv:
        yield srv


@pytest.fixture
def vault_window(replay, services, open_window, monkeypatch):
    """A window over a journal with one exchange account whose keys are in the
    passphrase-encrypted file (locked at start)."""
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    config = config_for("binanceusdm", replay, label=LABEL, secret_store="file")
    EncryptedFileStore(PASSPHRASE).put(LABEL, KEYS["binanceusdm"])
    AccountRegistry().add(config)
    with Journal.open() as journal:
        journal.create_account(LABEL, kind=JournalAccountKind.EXCHANGE, rules=config.rules,
                               settle=config.settle, exchange_id=config.exchange)
    services.mark_interval = 0.2
    window = open_window(services, start_demo=True)
    yield window
    if window.sync.service is not None:
        window.sync.service.stop(wait=True)
        window.sync.service = None
    if window.marks.feed is not None:
        window.marks.feed.stop()
        window.marks.feed = None


def _entry(window):
    return next(e for e in window.accounts_model.entries() if e.label == LABEL)


def _unlock_dialog(window, qtbot):
    qtbot.waitUntil(lambda: window.sync.unlock_dialog is not None
                    and window.sync.unlock_dialog.isVisible(), timeout=20_000)
    return window.sync.unlock_dialog


def test_locked_keys_ask_for_the_passphrase_and_a_wrong_one_is_refused_in_place(
        vault_window, qtbot, replay) -> None:
    window = vault_window
    dialog = _unlock_dialog(window, qtbot)
    entry = _entry(window)
    assert entry.kind is EntryKind.EXCHANGE and entry.status is EntryStatus.ATTENTION
    assert entry.status_text.startswith("Keys locked")
    assert window.unlock_action.isEnabled()
    assert dialog.passphrase.echoMode() == dialog.passphrase.EchoMode.Password
    before = secrets_file_path().read_bytes()
    dialog.buttons.accepted.emit()  # empty
    assert "required" in dialog.problems.text() and dialog.isVisible()
    dialog.passphrase.setText("not the passphrase")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: dialog.problems.isVisible()
                    and "wrong passphrase" in dialog.problems.text(), timeout=20_000)
    assert dialog.isVisible() and dialog.passphrase.property("invalid")
    assert dialog.unlock_button.isEnabled()
    assert secrets_file_path().read_bytes() == before  # nothing rewritten
    assert not window.sync.keys().file_unlocked
    # nothing was sent to the exchange's private endpoints
    assert not any("/fapi/v2/account" in path or "/fapi/v1/userTrades" in path
                   for _, path, *_ in replay.log)
    dialog.reject()
    qtbot.waitUntil(lambda: window.sync.unlock_dialog is None, timeout=5_000)
    assert _entry(window).status_text.startswith("Keys locked")
    # Ctrl+U asks again
    window.unlock_action.trigger()
    again = _unlock_dialog(window, qtbot)
    again.reject()


def test_unlocked_account_syncs_and_its_marks_stream_live(vault_window, qtbot, replay) -> None:
    window = vault_window
    dialog = _unlock_dialog(window, qtbot)
    before = secrets_file_path().read_bytes()
    dialog.passphrase.setText(PASSPHRASE)
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: window.sync.unlock_dialog is None, timeout=20_000)
    assert dialog.passphrase.text() == ""  # the typed passphrase is not kept
    assert window.sync.keys().file_unlocked and not window.unlock_action.isEnabled()
    qtbot.waitUntil(lambda: str(getattr(window.sync.statuses.get(LABEL), "state", "")) == "ok",
                    timeout=90_000)
    assert secrets_file_path().read_bytes() == before
    entry = _entry(window)
    assert entry.status is EntryStatus.LIVE and entry.status_text.startswith("Synced")
    # hidden again once the cycle ended (the bar hides on the finished signal, which may
    # reach the window just after the status board said ok: wait for it)
    qtbot.waitUntil(lambda: not window.sync_progress.isVisible(), timeout=10_000)

    # select it: the synced book, then live marks from the public mark-price endpoint
    window.select_account(entry.key)
    qtbot.waitUntil(lambda: window.session.entry is not None
                    and window.session.entry.key == entry.key
                    and window.session.state is not None
                    and bool(window.session.state.positions), timeout=30_000)
    qtbot.waitUntil(lambda: window.marks.watching == LABEL, timeout=10_000)
    replay.data.marks = {k: "70123.5" for k in replay.data.marks}
    qtbot.waitUntil(lambda: all(p.mark_price == Decimal("70123.5")
                                for p in window.session.state.positions), timeout=30_000)
    qtbot.waitUntil(lambda: window.session.snapshot is not None
                    and window.session.snapshot.state == window.session.state, timeout=10_000)
    # every figure is the engine's answer at the live mark
    risk = evaluate(window.session.state)
    snap = window.session.snapshot.risk
    assert snap.equity == risk.equity and snap.unrealized_pnl == risk.unrealized_pnl
    (position,) = window.session.state.positions
    assert snap.position(position.id).liquidation_price == \
        risk.position(position.id).liquidation_price
    window._update_marks_label()
    assert window.marks_label.text().startswith("Live exchange marks · updated")
    # the exchange stops answering sensibly: said in the status bar, the book stays
    replay.inject(path="/fapi/v1/premiumIndex", kind="garbage", count=1000)
    qtbot.waitUntil(lambda: window.marks_label.text().startswith("Live marks unavailable"),
                    timeout=30_000)
    assert window.marks_label.toolTip()
    assert all(p.mark_price == Decimal("70123.5") for p in window.session.state.positions)
    # another account: the stream stops following it
    window.select_account("demo")
    qtbot.waitUntil(lambda: window.marks.watching is None, timeout=10_000)
    assert LABEL not in window.marks.feed._watch


def test_sync_shows_a_progress_bar_while_running(vault_window, qtbot) -> None:
    window = vault_window
    window.sync._on_started(LABEL)
    assert window.sync_progress.isVisible() and LABEL in window.sync_progress.toolTip()
    window.sync._on_failed(LABEL, "network down")
    assert not window.sync_progress.isVisible()
    _unlock_dialog(window, qtbot).reject()


@pytest.fixture
def journal_market_window(replay, services, open_window):
    """A journal account that names its exchange (binanceusdm), holding a BTC long logged
    by hand at an entry far from the market; public calls go to the replay server."""
    from datetime import UTC, datetime

    with Journal.open() as journal:
        acct = journal.create_account("hand book", exchange_id="binanceusdm",
                                      default_leverage=Decimal(10)).id
        journal.record_balance(acct, Decimal(20000))
        journal.add_position(acct, "BTCUSDT", "long", Decimal("0.5"), Decimal(60000),
                             time=datetime(2026, 11, 1, tzinfo=UTC))
    services.mark_interval = 0.2
    services.public_endpoints = {"binanceusdm": replay.base_url}
    window = open_window(services, start_demo=True)
    yield window
    if window.marks.feed is not None:
        window.marks.feed.stop()
        window.marks.feed = None


def test_a_hand_logged_position_follows_its_exchange_marks(journal_market_window, qtbot,
                                                           replay) -> None:
    window = journal_market_window
    qtbot.waitUntil(lambda: any(e.label == "hand book" for e in window.accounts_model.entries()),
                    timeout=20_000)
    entry = next(e for e in window.accounts_model.entries() if e.label == "hand book")
    window.select_account(entry.key)
    qtbot.waitUntil(lambda: window.marks.watching == "hand book", timeout=20_000)
    replay.data.marks = {k: "65432.1" for k in replay.data.marks}
    qtbot.waitUntil(lambda: window.session.state is not None and all(
        p.mark_price == Decimal("65432.1") for p in window.session.state.positions),
        timeout=30_000)
    qtbot.waitUntil(lambda: window.session.snapshot is not None
                    and window.session.snapshot.state == window.session.state, timeout=10_000)
    (position,) = window.session.state.positions
    risk = window.session.snapshot.risk
    assert risk.position(position.id).unrealized_pnl == Decimal("0.5") * (
        Decimal("65432.1") - Decimal(60000))
    window._update_marks_label()
    assert window.marks_label.text().startswith("Live exchange marks · updated")
    # the marks are kept: offline, the account opens at the last known mark, not the entry
    qtbot.waitUntil(lambda: window.journal is not None and window.journal.open_positions(
        "hand book")[0].mark_price == Decimal("65432.1"), timeout=10_000)


def test_streamed_marks_follow_each_tick_and_a_stall_falls_back_to_polling(
        replay, services, open_window, qtbot) -> None:
    """The hand-logged BTC long of an account naming binanceusdm, its marks streamed from
    a local websocket replay: the book follows the ticks and the status bar says "Live
    stream"; when the stream stalls the marks are polled and the status bar says so; when
    it comes back it streams again."""
    from datetime import UTC, datetime

    from tests.sync.ws_replay import WsReplay

    with Journal.open() as journal:
        acct = journal.create_account("streamed", exchange_id="binanceusdm",
                                      default_leverage=Decimal(10)).id
        journal.record_balance(acct, Decimal(20000))
        journal.add_position(acct, "BTCUSDT", "long", Decimal("0.5"), Decimal(60000),
                             time=datetime(2026, 11, 1, tzinfo=UTC))
    with WsReplay() as ws:
        ws.prices = {"BTCUSDT": 70000.0}
        ws.step = {"BTCUSDT": 0.5}
        services.mark_interval = 0.3
        services.public_endpoints = {"binanceusdm": replay.base_url}
        services.stream_endpoints = {"binanceusdm": ws.url}
        services.stream_marks = True
        services.stall_seconds = 1.5
        window = open_window(services, start_demo=True)
        try:
            qtbot.waitUntil(lambda: any(e.label == "streamed"
                                        for e in window.accounts_model.entries()),
                            timeout=20_000)
            entry = next(e for e in window.accounts_model.entries() if e.label == "streamed")
            window.select_account(entry.key)

            qtbot.waitUntil(lambda: window.marks.watching == "streamed", timeout=20_000)

            def mark() -> Decimal | None:
                state = window.session.state
                if window.session.entry is None or window.session.entry.label != "streamed":
                    return None
                return state.positions[0].mark_price if state and state.positions else None

            # above 70,000: the stream's price (the replay's REST mark is 67,502.69)
            qtbot.waitUntil(lambda: (mark() or 0) > 70000, timeout=30_000)
            first = mark()
            assert first is not None
            qtbot.waitUntil(lambda: (mark() or 0) > first + 2, timeout=10_000)  # each tick
            window._update_marks_label()
            qtbot.waitUntil(lambda: (window._update_marks_label() or True)
                            and window.marks_label.text().startswith("Live stream"),
                            timeout=10_000)
            ws.stalled = True
            qtbot.waitUntil(lambda: (window._update_marks_label() or True)
                            and "polling" in window.marks_label.text(), timeout=20_000)
            # polled from the replay's REST marks meanwhile
            replay.data.marks = {k: "65432.1" for k in replay.data.marks}
            qtbot.waitUntil(lambda: mark() == Decimal("65432.1"), timeout=20_000)
            ws.stalled = False
            qtbot.waitUntil(lambda: (window._update_marks_label() or True)
                            and window.marks_label.text().startswith("Live stream"),
                            timeout=30_000)
            qtbot.waitUntil(lambda: (mark() or 0) > 70000, timeout=10_000)
            # the alert fires from the streamed ratio, once per crossing, naming the account
            from desktop.settings import Preferences

            fired: list[str] = []
            window.alerts.alert.crossed.connect(lambda label, _r: fired.append(label))
            window.apply_preferences(Preferences(margin_alert=Decimal("0.006"),
                                                 notifications=True))
            ratio = window.session.snapshot.risk.margin_ratio
            assert ratio is not None and ratio < Decimal("0.006")  # below it at ~70,000
            ws.step = {"BTCUSDT": -400.0}  # falling: the ratio rises through 0.6 %
            qtbot.waitUntil(lambda: fired == ["streamed"], timeout=20_000)
            assert "streamed: margin ratio" in window.message_bar.message()
            low = mark()
            qtbot.waitUntil(lambda: (mark() or 1e12) < low - 2000, timeout=10_000)
            assert fired == ["streamed"]  # once per crossing
        finally:
            if window.marks.feed is not None:
                window.marks.feed.stop()
                window.marks.feed = None
