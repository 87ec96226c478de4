"""crossmargin.symbols: one contract, one name."""

from __future__ import annotations

import pytest

from crossmargin.symbols import Symbol, SymbolError, canonical


@pytest.mark.parametrize(("text", "want"), [
    ("BTC/USDT:USDT", "BTC/USDT:USDT"), ("BTCUSDT", "BTC/USDT:USDT"), ("btc", "BTC/USDT:USDT"),
    ("btcusdt", "BTC/USDT:USDT"), ("BTC-USDT-SWAP", "BTC/USDT:USDT"), ("btc-usdt", "BTC/USDT:USDT"),
    ("ETH/USDC", "ETH/USDC:USDC"), ("ETHUSDC", "ETH/USDC:USDC"),
    ("1000PEPEUSDT", "1000PEPE/USDT:USDT"),
    ("BTCUSD_PERP", "BTC/USD:BTC"), ("BTC-USD-SWAP", "BTC/USD:BTC"), ("BTCUSD", "BTC/USD:BTC"),
    ("BTC/USD:BTC", "BTC/USD:BTC"), ("BTCUSD_240628", "BTC/USD:BTC-240628"),
    ("BTC-USDT-240628", "BTC/USDT:USDT-240628"), ("BTC/USDT:USDT-260925", "BTC/USDT:USDT-260925"),
    (" solusdt ", "SOL/USDT:USDT"), ("BTCFDUSD", "BTC/FDUSD:FDUSD"),
])
def test_every_spelling_is_one_contract(text, want):
    assert canonical(text) == want
    assert canonical(want) == want  # idempotent


def test_properties():
    s = Symbol.parse("BTCUSD_PERP")
    assert s.inverse and s.settle == "BTC" and s.short == "BTCUSD"
    assert not Symbol.parse("BTCUSDT").inverse and Symbol.parse("btc").short == "BTCUSDT"


@pytest.mark.parametrize("text", ["", "   ", "BTC USDT", "USDT", "BTC/", "BTCUSD_WEEKLY",
                                  "BTC-USDT-X", "B" * 80, "BTC/USDT:USDT-2406", "é"])
def test_not_a_symbol(text):
    with pytest.raises(SymbolError):
        canonical(text)
