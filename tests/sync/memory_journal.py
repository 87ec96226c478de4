"""A dict-backed JournalPort for layer tests of the sync (the real journal is tested elsewhere)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence

from crossmargin.domain import Tier
from crossmargin.sync.config import AccountConfig
from crossmargin.sync.model import FetchedCycle


class MemoryJournal:
    """Applies batches all-or-nothing into plain dicts; dedups fills/funding by exchange id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accounts: dict[str, int] = {}
        self.state: dict[int, dict] = {}
        self.fail_next_apply = False

    def account_id(self, config: AccountConfig) -> int:
        with self.lock:
            if config.label not in self.accounts:
                aid = len(self.accounts) + 1
                self.accounts[config.label] = aid
                self.state[aid] = {"cursors": {}, "fills": {}, "funding": {}, "positions": None,
                                   "balances": [], "tiers": {}, "snapshots": 0}
            return self.accounts[config.label]

    def cursors(self, account_id: int) -> Mapping[str, str]:
        return dict(self.state[account_id]["cursors"])

    def tiers(self, account_id: int, symbols: Sequence[str]) -> Mapping[str, Sequence[Tier]]:
        t = self.state[account_id]["tiers"]
        return {s: t[s] for s in symbols if s in t}

    def wallet_ledger(self, account_id: int, currency: str):
        from decimal import Decimal

        st = self.state[account_id]
        bal = next((b for b in st["balances"] if b.currency == currency), None)
        explained = sum((f.realized_pnl or 0) - f.fee for f in st["fills"].values()
                        if f.fee_currency == currency) + sum(
            g.amount for g in st["funding"].values() if g.currency == currency)
        return (None if bal is None else bal.wallet_balance), Decimal(explained)

    def apply(self, account_id: int, batch: FetchedCycle) -> Mapping[str, int]:
        with self.lock:
            if self.fail_next_apply:
                self.fail_next_apply = False
                raise OSError("disk full (simulated)")
            st = copy.deepcopy(self.state[account_id])
            new_f = new_g = 0
            for f in batch.fills:
                if f.trade_id not in st["fills"]:
                    st["fills"][f.trade_id] = f
                    new_f += 1
            for g in batch.funding:
                if g.funding_id not in st["funding"]:
                    st["funding"][g.funding_id] = g
                    new_g += 1
            st["positions"] = {p.key: p for p in batch.positions}
            st["balances"] = list(batch.balances)
            st["snapshots"] += 1
            for t in batch.tiers:
                st["tiers"][t.symbol] = t.tiers
            st["cursors"].update(batch.cursors)
            self.state[account_id] = st
            return {"fills": new_f, "funding": new_g}
