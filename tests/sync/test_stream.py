"""Live marks over a websocket (real ccxt.pro against a local replay stream on 127.0.0.1):
every tick arrives; a dropped connection reconnects; a stall falls back to polling and the
stream recovers; malformed and out-of-order frames are ignored, never a crash."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from crossmargin.sync.service import MarkFeed
from crossmargin.sync.stream import MarkStream, marks_of
from tests.sync.conftest import config_for, server_for
from tests.sync.ws_replay import WsReplay

SYMBOL = "BTC/USDT:USDT"


def wait_for(condition, timeout: float = 15.0, what=None) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"condition not met in time {what() if what else ''}")
        time.sleep(0.02)


class Sink:
    def __init__(self) -> None:
        self.marks: list[Decimal] = []
        self.states: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def on_marks(self, _label, marks, _at) -> None:
        with self.lock:
            self.marks.append(marks[SYMBOL])

    def on_state(self, _label, state, detail) -> None:
        with self.lock:
            self.states.append((state, detail))


@pytest.fixture
def streams():
    with server_for("binanceusdm") as rest, WsReplay() as ws:
        ws.prices = {"BTCUSDT": 91850.0}
        ws.step = {"BTCUSDT": 1.0}
        cfg = config_for("binanceusdm", rest, options={"ws_endpoint": ws.url})
        yield cfg, ws


def test_ticks_arrive_and_a_dropped_connection_reconnects(streams) -> None:
    cfg, ws = streams
    sink = Sink()
    stream = MarkStream(cfg, [SYMBOL], on_marks=sink.on_marks, on_state=sink.on_state,
                        stall_seconds=2.0, backoff=0.05)
    stream.start()
    try:
        wait_for(lambda: len(sink.marks) >= 5)
        assert ws.subscribed[0] == ["btcusdt@markPrice@1s"]
        assert sink.marks == sorted(sink.marks)  # every tick, in order, exact decimals
        assert all(m == m.quantize(Decimal("0.01")) for m in sink.marks)
        assert stream.state == "live" and stream.healthy()
        ws.drop()
        seen = len(sink.marks)
        wait_for(lambda: ws.connections >= 2 and len(sink.marks) > seen + 3)
        assert ("live", "") in sink.states
    finally:
        stream.stop()
    assert not stream._thread.is_alive()


def test_malformed_frames_never_reach_the_marks_and_a_broken_reader_reconnects(streams
                                                                               ) -> None:
    """A frame whose price is not a number is skipped; a frame that is not JSON stops
    ccxt's reader, and the stall timer reconnects. The marks keep rising with the stream:
    nothing crashes and no wrong mark is shown."""
    cfg, ws = streams
    sink = Sink()
    stream = MarkStream(cfg, [SYMBOL], on_marks=sink.on_marks, stall_seconds=2.0,
                        backoff=0.05)
    stream.start()
    try:
        wait_for(lambda: len(sink.marks) >= 3)
        for _ in range(3):
            ws.raw('{"e": "markPriceUpdate", "s": "BTCUSDT", "p": "NaN", "E": 1}')
        before = ws.connections
        ws.raw("{not json")
        wait_for(lambda: ws.connections > before, timeout=15)  # stalled, reconnected
        seen = len(sink.marks)
        wait_for(lambda: len(sink.marks) > seen + 3)
        assert all(m.is_finite() and m > 0 for m in sink.marks)
        assert sink.marks == sorted(sink.marks)
    finally:
        stream.stop()


def test_an_out_of_order_frame_never_moves_a_mark_back(streams) -> None:
    cfg, _ws = streams
    stream = MarkStream(cfg, [SYMBOL], on_marks=lambda *a: None)
    assert stream._newer({SYMBOL: {"markPrice": "100", "timestamp": 2_000}}) == {
        SYMBOL: Decimal(100)}
    assert stream._newer({SYMBOL: {"markPrice": "90", "timestamp": 1_000}}) == {}
    assert stream._newer({SYMBOL: {"markPrice": "101", "timestamp": 2_001}}) == {
        SYMBOL: Decimal(101)}


def test_a_stalled_stream_falls_back_to_polling_then_recovers(streams) -> None:
    """MarkFeed with streams: while the stream is live the account is not polled; when it
    stalls the feed polls again and says so; when frames come back it streams again."""
    cfg, ws = streams
    feed = MarkFeed(interval=0.2, streams=True, stall_seconds=1.0)
    got: list[Decimal] = []
    modes: list[tuple[str, str]] = []
    feed.subscribe(lambda _l, marks, _at: got.append(marks[SYMBOL]))
    feed.subscribe_mode(lambda _l, mode, detail: modes.append((mode, detail)))
    feed.watch(cfg, [SYMBOL])
    feed.start()
    try:
        wait_for(lambda: feed.mode(cfg.label)[0] == "stream")
        assert feed.poll_once() == {}  # a live stream: nothing polled
        ws.stalled = True
        wait_for(lambda: feed.mode(cfg.label)[0] == "polling", timeout=10)
        assert feed.poll_once()[cfg.label][SYMBOL] > 0  # the replay REST server's mark
        wait_for(lambda: any(m == "polling" and "no message" in d for m, d in modes),
                 what=lambda: modes)
        ws.stalled = False
        wait_for(lambda: feed.mode(cfg.label)[0] == "stream", timeout=20)
        wait_for(lambda: modes[-1][0] == "stream", what=lambda: modes)
    finally:
        feed.stop()


def test_bybit_tickers_stream_too() -> None:
    """Bybit v5 public tickers (the same MarkStream, watch_tickers instead)."""
    with server_for("bybit") as rest, WsReplay(protocol="bybit") as ws:
        ws.prices = {"BTCUSDT": 91850.0}
        ws.step = {"BTCUSDT": 1.0}
        cfg = config_for("bybit", rest, options={"ws_endpoint": ws.url})
        sink = Sink()
        stream = MarkStream(cfg, [SYMBOL], on_marks=sink.on_marks, stall_seconds=3.0,
                            backoff=0.05)
        stream.start()
        try:
            wait_for(lambda: len(sink.marks) >= 5)
            assert ws.subscribed[0] == ["tickers.BTCUSDT"]
            assert sink.marks == sorted(sink.marks) and sink.marks[-1] > Decimal(91850)
        finally:
            stream.stop()


def test_marks_of_reads_only_positive_finite_prices() -> None:
    assert marks_of({"A": {"markPrice": "1.5"}, "B": {"last": 2}, "C": {"markPrice": "nan"},
                     "D": {"markPrice": -1}, "E": "junk", "F": {"info": {"markPrice": "3"}}}
                    ) == {"A": Decimal("1.5"), "B": Decimal(2), "F": Decimal(3)}
    assert marks_of(None) == {} and marks_of([1, 2]) == {}
