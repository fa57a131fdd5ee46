"""The thin path of FIX-level backtests changes no figure: for the same inputs a run's
`BacktestResult.to_json` is the same bytes as before the path was thinned (the goldens below
were taken with the code before it), the bytes each client received are the same, and a
strategy that reads every book sees the same events — on the shipped samples and on generated
recordings of both products, on every API, with and without latency."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.session.events import ApplicationMessage
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_RECORDING,
    SAMPLE_RECORDING,
    SAMPLE_SETTLED,
    write_recording,
)
from kalshi_fix_sansio.simulator.testing.strategies import async_quoter, quoter
from kalshi_fix_sansio.simulator.world.latency import ConstantLatency
from kalshi_fix_sansio.simulator.world.simulation import WireRecord
from kalshi_fix_sansio.trading.book import Books
from kalshi_fix_sansio.trading.builders import Requests


class Seen:
    """What a run's clients received (a digest of each connection's bytes from the gateway)
    and what a watching strategy saw (each event, and both best prices after it)."""

    def __init__(self) -> None:
        self.streams: dict[tuple[str, int], Any] = {}
        self.events = hashlib.sha256()

    def hear(self, record: WireRecord) -> None:
        if record.sender == "gateway":
            key = (record.session_type, record.connection)
            self.streams.setdefault(key, hashlib.sha256()).update(record.data)

    def see(self, event: Any, books: Books, symbols: tuple[str, ...]) -> None:
        line = [type(event).__name__]
        if isinstance(event, ApplicationMessage):
            line.append(repr(event.message))
            books.apply(event.message)
            for symbol in symbols:
                book = books.get(symbol)
                if book is not None:
                    line.append(f"{book.best_bid()} {book.best_offer()}")
        self.events.update("|".join(line).encode() + b"\n")

    def wire(self) -> str:
        whole = hashlib.sha256()
        for key in sorted(self.streams):
            whole.update(f"{key}={self.streams[key].hexdigest()}\n".encode())
        return whole.hexdigest()[:16]


class Watcher:
    """A watching strategy's steps (both APIs): every market subscribed, each event seen,
    until none comes in the time left; ``one``: the first market alone, waits of 0.7 s at
    most, each timeout and each event's time seen too (the other market's messages reach no
    client)."""

    def __init__(self, seen: Seen, one: bool) -> None:
        self.seen, self.one, self.books = seen, one, Books()

    def start(self, ctx: Any, md: Any) -> None:
        markets = [ctx.symbols[0]] if self.one else list(ctx.symbols)
        md.send(Requests(ctx.product, "KalshiMD").subscribe(markets))

    def timeout(self, ctx: Any) -> float:
        return float(min(0.7, ctx.seconds) if self.one else ctx.seconds)

    def saw(self, ctx: Any, event: Any) -> bool:
        """Whether to wait again."""
        seen = self.seen
        if self.one:
            what = "timeout" if event is None else type(event).__name__
            seen.events.update(f"{what} at {ctx.simulation.time():.6f}\n".encode())
        if event is not None:
            seen.see(event, self.books, ctx.symbols)
        return event is not None or self.one


def _watch(seen: Seen, one: bool = False) -> Callable[[Any], None]:
    def watch(ctx: Any) -> None:
        ctx.simulation.wire_listeners.append(seen.hear)
        watcher = Watcher(seen, one)
        with ctx.client(market_data=True).market_data() as md:
            watcher.start(ctx, md)
            while ctx.seconds > 0 and watcher.saw(ctx, md.next_event(watcher.timeout(ctx))):
                pass

    return watch


def _async_watch(seen: Seen, one: bool = False) -> Callable[[Any], Any]:
    async def watch(ctx: Any) -> None:
        ctx.simulation.wire_listeners.append(seen.hear)
        watcher = Watcher(seen, one)
        async with ctx.client(market_data=True).market_data() as md:
            watcher.start(ctx, md)
            while ctx.seconds > 0 and watcher.saw(ctx, await md.next_event(watcher.timeout(ctx))):
                pass

    return watch


def _quote(seen: Seen, api: str) -> Callable[[Any], Any]:
    if api == "blocking":

        def run(ctx: Any) -> None:
            ctx.simulation.wire_listeners.append(seen.hear)
            quoter(ctx)

        return run

    async def run_async(ctx: Any) -> None:
        ctx.simulation.wire_listeners.append(seen.hear)
        await async_quoter(ctx)

    return run_async


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("thin")
    made = {"sample": SAMPLE_RECORDING, "margin-sample": MARGIN_SAMPLE_RECORDING}
    for name, options in (
        ("generated", {"messages": 1200, "seed": 21, "settle": {"KXPAPER-26NOV20-A": "no"}}),
        ("generated-margin", {"messages": 800, "seed": 5, "product": "margin"}),
    ):
        path = where / f"{name}.log"
        with path.open("w", encoding="utf-8") as out:
            write_recording(out, **options)  # type: ignore[arg-type]
        made[name] = path
    return made


APIS = ("blocking", "asyncio", "trio")
CASES = [
    (recording, strategy, api, latency)
    for recording in ("sample", "margin-sample", "generated", "generated-margin")
    for strategy in ("quoter", "watch")
    for api in APIS
    for latency in (False, True)
    if not (latency and recording in ("sample", "margin-sample"))
] + [
    (recording, "watch-one", api, latency)
    for recording in ("generated", "generated-margin")
    for api in APIS
    for latency in (False, True)
]

# (report, wire, events seen) digests, taken with the code before the thin path (the reports'
# digests again at the backtest report's schema 3: its per-market fees include settlement)
GOLDEN: dict[str, tuple[str, str, str]] = {
    "sample-quoter-blocking": ("9176fdc0e6ba435f", "ebd1d46a17504242", ""),
    "sample-quoter-asyncio": ("8e0d9dc0a8a11b03", "ebd1d46a17504242", ""),
    "sample-quoter-trio": ("a5712718742e8e95", "ebd1d46a17504242", ""),
    "sample-watch-blocking": ("e30a4bb713e60e7e", "ce7bc6a402717019", "72e452996494af18"),
    "sample-watch-asyncio": ("5415618be1d76920", "ce7bc6a402717019", "72e452996494af18"),
    "sample-watch-trio": ("b801e5a32925976e", "ce7bc6a402717019", "72e452996494af18"),
    "margin-sample-quoter-blocking": ("5474c2fca6a1e8c7", "6d93a8bb3293b77b", ""),
    "margin-sample-quoter-asyncio": ("dbfbeaccd743c20b", "6d93a8bb3293b77b", ""),
    "margin-sample-quoter-trio": ("40dec0a3c39e9c5d", "6d93a8bb3293b77b", ""),
    "margin-sample-watch-blocking": ("2dfb14c54e5bf359", "eda898798fd37de7", "a73fcf1a6310c924"),
    "margin-sample-watch-asyncio": ("a4e03d6aedbfa05b", "eda898798fd37de7", "a73fcf1a6310c924"),
    "margin-sample-watch-trio": ("3a0da2878c544051", "eda898798fd37de7", "a73fcf1a6310c924"),
    "generated-quoter-blocking": ("f9a611315a4eea19", "22cd7946a54d0330", ""),
    "generated-quoter-blocking-latency": ("363f7df1a8ef8607", "c28fae71cdeecf84", ""),
    "generated-quoter-asyncio": ("7a96e22bb5a3a7c5", "22cd7946a54d0330", ""),
    "generated-quoter-asyncio-latency": ("781bb5439c5e53c6", "c28fae71cdeecf84", ""),
    "generated-quoter-trio": ("86a4b690d297a0dc", "22cd7946a54d0330", ""),
    "generated-quoter-trio-latency": ("f24e4bc4a81053f3", "c28fae71cdeecf84", ""),
    "generated-watch-blocking": ("6d848594d3a0f986", "8a502e0af9d20319", "60493dfca1a7cf74"),
    "generated-watch-blocking-latency": (
        "623d9aa5f6cbeefd",
        "7f2f3fa87653dc2f",
        "0c480190b332ed1d",
    ),
    "generated-watch-asyncio": ("b91e5b203a7b87af", "8a502e0af9d20319", "60493dfca1a7cf74"),
    "generated-watch-asyncio-latency": ("7a91d9dab55db847", "7f2f3fa87653dc2f", "0c480190b332ed1d"),
    "generated-watch-trio": ("df1e04ef04c18710", "8a502e0af9d20319", "60493dfca1a7cf74"),
    "generated-watch-trio-latency": ("e8483681489fd370", "7f2f3fa87653dc2f", "0c480190b332ed1d"),
    "generated-margin-quoter-blocking": ("e27fe7efbb634e2a", "c420457400ad8bf0", ""),
    "generated-margin-quoter-blocking-latency": ("546d4969c94df4da", "095bf47eb6a56280", ""),
    "generated-margin-quoter-asyncio": ("00da7c7c9fa1deca", "c420457400ad8bf0", ""),
    "generated-margin-quoter-asyncio-latency": ("6086e4f56da48e87", "095bf47eb6a56280", ""),
    "generated-margin-quoter-trio": ("df38a05b79591182", "c420457400ad8bf0", ""),
    "generated-margin-quoter-trio-latency": ("5aa11dd2dba9c7f7", "095bf47eb6a56280", ""),
    "generated-margin-watch-blocking": ("dd8d2f8ca2d7fd38", "4baded4f2bbd8198", "a37611ef66aa1b5d"),
    "generated-margin-watch-blocking-latency": (
        "a05a85e636c4232b",
        "d1322944d0568bd8",
        "0922024093842d13",
    ),
    "generated-margin-watch-asyncio": ("3223cd7387a01138", "4baded4f2bbd8198", "a37611ef66aa1b5d"),
    "generated-margin-watch-asyncio-latency": (
        "23039e46a30af93a",
        "d1322944d0568bd8",
        "0922024093842d13",
    ),
    "generated-margin-watch-trio": ("a5239e2271002ea8", "4baded4f2bbd8198", "a37611ef66aa1b5d"),
    "generated-margin-watch-trio-latency": (
        "66c832b646f8c5e5",
        "d1322944d0568bd8",
        "0922024093842d13",
    ),
    # one market of two subscribed, waits of 0.7 s at most (taken with the code before the
    # quiet callbacks: the other market's messages and the idle ticks wake no wait)
    "generated-watch-one-blocking": ("6d848594d3a0f986", "757992026f8ac605", "ab5bea1bcd3aabe8"),
    "generated-watch-one-blocking-latency": (
        "623d9aa5f6cbeefd",
        "ad17a5814415dcda",
        "87a791040d9faea5",
    ),
    "generated-watch-one-asyncio": ("b91e5b203a7b87af", "757992026f8ac605", "ab5bea1bcd3aabe8"),
    "generated-watch-one-asyncio-latency": (
        "7a91d9dab55db847",
        "ad17a5814415dcda",
        "87a791040d9faea5",
    ),
    "generated-watch-one-trio": ("df1e04ef04c18710", "757992026f8ac605", "ab5bea1bcd3aabe8"),
    "generated-watch-one-trio-latency": (
        "e8483681489fd370",
        "ad17a5814415dcda",
        "87a791040d9faea5",
    ),
    "generated-margin-watch-one-blocking": (
        "dd8d2f8ca2d7fd38",
        "b62f301f00b39a55",
        "02e8ccab1ff72908",
    ),
    "generated-margin-watch-one-blocking-latency": (
        "a05a85e636c4232b",
        "afbdd3b92a0f0441",
        "0f7bdbdfceb18187",
    ),
    "generated-margin-watch-one-asyncio": (
        "3223cd7387a01138",
        "b62f301f00b39a55",
        "02e8ccab1ff72908",
    ),
    "generated-margin-watch-one-asyncio-latency": (
        "23039e46a30af93a",
        "afbdd3b92a0f0441",
        "0f7bdbdfceb18187",
    ),
    "generated-margin-watch-one-trio": ("a5239e2271002ea8", "b62f301f00b39a55", "1b4fed887d1872e0"),
    "generated-margin-watch-one-trio-latency": (
        "66c832b646f8c5e5",
        "afbdd3b92a0f0441",
        "3c9a4638534021d8",
    ),
}


def _case_id(case: tuple[str, str, str, bool]) -> str:
    recording, strategy, api, latency = case
    return f"{recording}-{strategy}-{api}" + ("-latency" if latency else "")


def run_case(recordings: dict[str, Path], case: tuple[str, str, str, bool], cache: Path) -> Any:
    recording, strategy, api, latency = case
    seen = Seen()
    if strategy == "quoter":
        run = _quote(seen, api)
    else:
        one = strategy == "watch-one"
        run = _watch(seen, one) if api == "blocking" else _async_watch(seen, one)
    options: dict[str, Any] = {"api": api, "seed": 3, "cache_dir": cache}
    if recording == "sample":
        options["settle"] = {"KXPAPER-26NOV20-A": "no", **SAMPLE_SETTLED}
    if latency:
        options["latency"] = {
            "KalshiMD": ConstantLatency(0.004),
            "KalshiNR": ConstantLatency(0.002),
        }
    result = run_backtest(run, recordings[recording], **options)
    report = hashlib.sha256(result.to_json().encode()).hexdigest()[:16]
    events = seen.events.hexdigest()[:16] if strategy != "quoter" else ""
    return (report, seen.wire(), events)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_the_thin_path_changes_no_figure(
    recordings: dict[str, Path], case: tuple[str, str, str, bool], tmp_path: Path
) -> None:
    assert run_case(recordings, case, tmp_path) == GOLDEN[_case_id(case)]
