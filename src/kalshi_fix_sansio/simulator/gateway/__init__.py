"""The mock Kalshi exchange: the gateway (`MockGateway`) around a pure exchange engine (`Exchange`).

`MockGateway` serves every session type of one product on loopback ports, with TLS if asked
(``tls=True`` makes a throwaway self-signed certificate), and points clients at itself
(`MockGateway.client`, `MockGateway.endpoints`). `Exchange` keeps order books, positions,
order groups and market-data subscriptions for one product and answers every call with the
`Outbound` messages to send; it does no I/O and reads no clock. `self_signed` and
`server_context` make a TLS identity of your own; `mock_api_key` is a product's well-known
mock API key (`write_mock_api_key` writes its private key for the CLI). `AcceptorDriver` is
the sans-IO driver each accepted connection runs (its session, the loop's rules, the fault
hooks). `MockGateway.replay` replays a market-data recording into it (`Replay`: paper trading,
see docs/paper-trading.md). The exchange's fee model (`FeeSchedule`, `FeeModel`) and a
replay's queue model (`FifoQueue`, `RiskAverseQueue`, `ProbQueue`, `QueueModel`) are chosen
per gateway or exchange (docs/paper-trading.md, "Models"). `RestServer` serves the exchange's
REST portfolio pages over HTTPS (`RestApp`: Kalshi's fills, orders, positions and API limits,
signed requests checked; see docs/accounts.md), and a `MarketHistory` of recordings on Kalshi's
market-history endpoints (trades, candlesticks, order book; docs/history.md). `net` is the
network in memory a simulation reaches it through (pipes on a simulated clock), `paper` the
paper-trading ledger and report of a replay. See docs/gateway.md.
"""

from ...client.pump import AcceptorDriver
from .exchange import (
    HOUSE_ACCOUNT,
    ROLLING_WINDOW_SECONDS,
    SESSION_TYPES,
    EncodedMessage,
    Exchange,
    FeeFill,
    FeeModel,
    FeeRates,
    FeeSchedule,
    FeeScheduleError,
    FifoQueue,
    FillView,
    OrderView,
    Outbound,
    ProbQueue,
    QueueModel,
    RiskAverseQueue,
    SettlementView,
    as_fee_model,
    queue_model,
)
from .listening import Faults, GatewayError
from .market_history import MarketHistory
from .replay import Replay, ReplayClock
from .rest import RestApp, RestServer
from .server import MockGateway
from .tls import mock_api_key, self_signed, server_context, write_mock_api_key

__all__ = [
    "HOUSE_ACCOUNT",
    "ROLLING_WINDOW_SECONDS",
    "SESSION_TYPES",
    "AcceptorDriver",
    "EncodedMessage",
    "Exchange",
    "Faults",
    "FeeFill",
    "FeeModel",
    "FeeRates",
    "FeeSchedule",
    "FeeScheduleError",
    "FifoQueue",
    "FillView",
    "GatewayError",
    "MarketHistory",
    "MockGateway",
    "OrderView",
    "Outbound",
    "ProbQueue",
    "QueueModel",
    "Replay",
    "ReplayClock",
    "RestApp",
    "RestServer",
    "RiskAverseQueue",
    "SettlementView",
    "as_fee_model",
    "mock_api_key",
    "queue_model",
    "self_signed",
    "server_context",
    "write_mock_api_key",
]
