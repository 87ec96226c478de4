"""Deposits, withdrawals and the exchange's realised PnL reach the journal, and the wallet
invariant ``wallet = transfers + realised + fees + funding`` is checked on every sync."""

from __future__ import annotations

import time
from decimal import Decimal as D

from crossmargin.sync.cycle import AccountClient, run_cycle
from tests.sync.books import BinanceLedger
from tests.sync.conftest import FAST, KEYS, config_for, server_for
from tests.sync.replay_server import recorded_data


def _ledger() -> BinanceLedger:
    data = recorded_data("binanceusdm")
    data.positions = []
    book = BinanceLedger(data, int(time.time() * 1000) - 2 * 86_400_000)
    book.deposit(D("10000"))
    book.trade("BTCUSDT", "BUY", D("0.150"), D("36567.10"))
    book.trade("BTCUSDT", "BUY", D("0.070"), D("36991.30"))
    book.funding("BTCUSDT", D("-0.46189130"))
    book.trade("BTCUSDT", "SELL", D("0.100"), D("37410.70"))
    book.trade("ETHUSDT", "SELL", D("1.5"), D("2051.37"))
    book.trade("BTCUSDT", "SELL", D("0.200"), D("37002.10"))  # flips short 0.080
    book.trade("ETHUSDT", "BUY", D("1.5"), D("1999.01"))
    book.deposit(D("-2500"))  # a withdrawal
    book.other_income("COMMISSION_REBATE", D("0.12345678"))
    return book


def test_transfers_realized_pnl_and_the_wallet_check(journal, port, capsys):
    book = _ledger()
    with server_for("binanceusdm", book.data) as srv:
        cfg = config_for("binanceusdm", srv)
        client = AccountClient(cfg, KEYS["binanceusdm"])
        first = run_cycle(client, port, policy=FAST)
        assert first.wallet_check is None  # nothing to compare the first wallet with
        transfers = journal.transfers(cfg.label)
        assert [(t.kind, t.amount, t.currency) for t in transfers] == [
            ("deposit", D("10000.00000000"), "USDT"),
            ("withdrawal", D("-2500.00000000"), "USDT"),
            ("other", D("0.12345678"), "USDT"),
        ]
        assert transfers[2].note == "commission rebate"
        # realised PnL: the exchange's per-trade figures, the recomputed one beside them
        want = {}
        for f in book.data.fills:
            want.setdefault(f["symbol"], []).append(D(f["realizedPnl"]))
        positions = journal.positions().items
        assert sum((p.realized_pnl for p in positions), D(0)) == sum(
            (sum(v, D(0)) for v in want.values()), D(0))
        for p in positions:
            if p.closed_contracts:
                assert p.pnl_source == "exchange"
                assert abs(p.realized_pnl - p.computed_pnl) <= D("0.00000002"), p
        # no 28-digit leftovers anywhere in stored money
        for p in positions:
            for v in (p.realized_pnl, p.fees, p.funding):
                assert -v.as_tuple().exponent <= 8, p
        # the journal explains the whole wallet: opening balance 0 + everything since
        assert journal.wallet_explained(cfg.label) == book.wallet
        # and whatif --account --json says so, beside the exchange's wallet
        import json

        from crossmargin.cli.main import main

        capsys.readouterr()
        assert main(["whatif", "--account", cfg.label, "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        ledger = {k: D(v) for k, v in doc["ledger"].items()}
        assert ledger["transfers"] == D("10000") - D("2500") + D("0.12345678")
        assert ledger["realized_pnl"] == sum((D(f["realizedPnl"]) for f in book.data.fills), D(0))
        assert ledger["fees"] == -sum((D(f["commission"]) for f in book.data.fills), D(0))
        total = D(doc["account"]["total_wallet_balance"])
        assert sum(ledger.values(), D(0)) == book.wallet == total

        # a second cycle: new trades, funding and a deposit (just now, after the cursors);
        # the wallet moved by exactly them
        book.now = int(time.time() * 1000) - 300_000
        book.trade("ETHUSDT", "BUY", D("0.5"), D("2010.00"))
        book.trade("ETHUSDT", "SELL", D("0.5"), D("2030.55"))
        book.funding("ETHUSDT", D("0.0231"))
        book.deposit(D("125.5"))
        srv.data_changed()
        again = run_cycle(client, port, policy=FAST)
        check = again.wallet_check
        assert check is not None and check.ok, check.describe()
        assert check.moved == D("125.5") + D("0.0231") + D("10.275") - D("0.402") - D("0.40611")
        assert "wallet check" not in again.summary()
        assert len(journal.transfers(cfg.label)) == 4

        # money that no row explains is reported, with the amount
        for a in book.data.balance["assets"]:
            if a["asset"] == "USDT":
                a["walletBalance"] = str(D(a["walletBalance"]) + D("7.5"))
        odd = run_cycle(client, port, policy=FAST)
        assert odd.wallet_check is not None and not odd.wallet_check.ok
        assert odd.wallet_check.difference == D("7.5")
        assert "+7.5 unexplained" in odd.summary()
