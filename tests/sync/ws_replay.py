"""A local websocket replay server (127.0.0.1) speaking the public streams ccxt.pro uses:
Binance USDⓈ-M's mark-price stream (``{"method": "SUBSCRIBE", "params":
["btcusdt@markPrice@1s"], "id": n}``, then ``markPriceUpdate`` frames) or, with
``protocol="bybit"``, Bybit v5's tickers (``{"op": "subscribe", "args":
["tickers.BTCUSDT"]}``, then ``tickers.BTCUSDT`` snapshots; ``ping`` answered).
Faults on demand: stall (stop sending), drop (close every connection), raw (malformed)
frames, out-of-order event times.

It runs one aiohttp application on its own thread and loop; every method is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from typing import Any

from aiohttp import WSMsgType, web


class WsReplay:
    def __init__(self, *, interval: float = 0.05, protocol: str = "binance") -> None:
        self.interval = interval
        self.protocol = protocol
        self.prices: dict[str, float] = {}  # venue symbol (BTCUSDT) -> price
        self.step: dict[str, float] = {}
        self.stalled = False
        self.connections = 0
        self.subscribed: list[list[str]] = []
        self.sent: list[tuple[float, str, str]] = []  # (monotonic, symbol, price text)
        self._clients: set[web.WebSocketResponse] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> WsReplay:
        self._thread = threading.Thread(target=self._main, daemon=True, name="ws-replay")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("ws replay server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            with contextlib.suppress(Exception):
                fut.result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> WsReplay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # -- faults -------------------------------------------------------------------------
    def drop(self) -> None:
        """Close every open connection (the client should reconnect)."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(5)

    def raw(self, text: str) -> None:
        """Send ``text`` as one frame to every client (e.g. malformed JSON)."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._broadcast(text), self._loop).result(5)

    def frame(self, symbol: str, price: str, event_time: int | None = None) -> None:
        """One markPriceUpdate frame (``event_time``: override, e.g. an old one)."""
        self.raw(json.dumps(self._update(symbol, price, event_time)))

    # -- internals ----------------------------------------------------------------------
    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._serve())
        self._ready.set()
        self._pump_task = loop.create_task(self._pump())
        loop.run_forever()
        loop.close()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _shutdown(self) -> None:
        self._pump_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump_task
        await self._close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _close_all(self) -> None:
        for ws in list(self._clients):
            with contextlib.suppress(Exception):
                await ws.close()
        self._clients.clear()

    async def _broadcast(self, text: str) -> None:
        for ws in list(self._clients):
            with contextlib.suppress(Exception):
                await ws.send_str(text)

    def _update(self, symbol: str, price: str, event_time: int | None) -> dict[str, Any]:
        now = int(time.time() * 1000)
        if self.protocol == "bybit":
            return {"topic": f"tickers.{symbol}", "type": "snapshot", "ts": event_time or now,
                    "cs": 1, "data": {"symbol": symbol, "markPrice": price, "lastPrice": price,
                                      "indexPrice": price}}
        return {"e": "markPriceUpdate", "E": event_time or now, "s": symbol, "p": price,
                "i": price, "P": price, "r": "0.0001", "T": now + 3_600_000}

    async def _pump(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.stalled or not self._clients:
                continue
            for symbol in list(self.prices):
                self.prices[symbol] += self.step.get(symbol, 0.0)
                text = f"{self.prices[symbol]:.2f}"
                self.sent.append((time.monotonic(), symbol, text))
                await self._broadcast(json.dumps(self._update(symbol, text, None)))

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data.get("method") == "SUBSCRIBE":  # Binance
                self.subscribed.append(list(data.get("params") or []))
                await ws.send_str(json.dumps({"result": None, "id": data.get("id")}))
                self._clients.add(ws)
            elif data.get("op") == "subscribe":  # Bybit
                self.subscribed.append(list(data.get("args") or []))
                await ws.send_str(json.dumps({"success": True, "ret_msg": "", "op": "subscribe",
                                              "conn_id": "replay", "req_id": data.get("req_id")}))
                self._clients.add(ws)
            elif data.get("op") == "ping":
                await ws.send_str(json.dumps({"success": True, "ret_msg": "pong", "op": "ping"}))
        self._clients.discard(ws)
        return ws
