"""kalshi-sdk (PyPI ``kalshi-sdk``, module ``kalshi.fix``) as a peer in the benchmarks.

kalshi-sdk needs Python >= 3.12, so it is installed only by ``bash scripts/bench-peers`` (into
``.venv-peers``), never in the project's own venv. Everything here only *calls* its public API
(``kalshi.fix``: ``decode``, ``encode``, the pydantic message models, ``FixClient``,
``FixConfig``, ``FixSigner``); nothing of it is copied. When it is not importable every function
that needs it is skipped by the callers and the rows say why (`status`).

What kalshi-sdk does differently, which the rows say:

* no typed header: ``kalshi.fix.decode`` gives a ``RawMessage`` of ``(tag, str)`` pairs; the
  header is read from it as str (MsgSeqNum as int via ``seq_num``), SendingTime stays a str;
* the typed pydantic models are built eagerly from the pairs (``decode_app_message`` for
  inbound application messages, ``<Model>.from_raw`` for the others); fields its models do not
  declare are dropped, and a group entry's parse stops at the first tag its entry model lacks,
  which on today's Kalshi market data (MDEntryDate/MDEntryTime 272/273 in every entry) keeps only
  the first entry of each 35=W / 35=X (`coverage` counts it);
* on its default prediction session Price(44) is integer cents, as ours: the order is built with
  ``price=Decimal(75)`` where ours takes ``Decimal("0.75")``, the same bytes on the wire.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

DIST = "kalshi-sdk"
#: The version the rows were written against (`scripts/bench-peers` installs exactly this one).
VERSION = "22.4.0"
#: The API key the latency benchmark registers with the gateway for kalshi-sdk's client.
SDK_KEY_ID = "kalshi-sdk-bench-key"
#: Header tags read from the RawMessage (kalshi-sdk has no typed header).
HEADER_TAGS = (35, 49, 56, 34, 52)
_FRAMING_TAGS = frozenset({8, 9, 10})


def not_installed_reason(version_info: tuple[int, ...], python: str) -> str:
    """Why kalshi-sdk's rows are empty when it is not installed on this interpreter."""
    if tuple(version_info[:2]) < (3, 12):
        return f"not installed (needs Python >= 3.12; this is {python})"
    return "not installed (`bash scripts/bench-peers` installs it)"


def status() -> str | None:
    """None when kalshi-sdk is importable, else the reason its rows are empty."""
    try:
        version = importlib.metadata.version(DIST)
    except importlib.metadata.PackageNotFoundError:
        return not_installed_reason(sys.version_info, platform.python_version())
    try:
        import kalshi.fix  # type: ignore[import-not-found]  # noqa: F401
    except Exception as exc:  # an installed but broken peer: say so in the row
        return f"{DIST} {version} installed, but `import kalshi.fix` failed: {exc}"
    return None


def label() -> str:
    """``kalshi-sdk <installed version>`` (rows name the version they measured)."""
    return f"{DIST} {importlib.metadata.version(DIST)}"


def _kf() -> Any:
    import kalshi.fix as kf  # type: ignore[import-not-found]

    return kf


# -- reading -------------------------------------------------------------------------------------


def present(model: Any) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Field names set on a kalshi-sdk model, and its non-empty groups with their entries' names."""
    plain: list[str] = []
    groups: list[tuple[str, list[str]]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None or (isinstance(value, list) and not value):
            continue
        if isinstance(value, list):
            names: list[str] = []
            for entry in value:
                for entry_name in present(entry)[0]:
                    if entry_name not in names:
                        names.append(entry_name)
            groups.append((name, names))
        else:
            plain.append(name)
    return plain, groups


def typed_decoder(raw: Any) -> Callable[[Any], Any]:
    """How a kalshi-sdk user turns this RawMessage into its model.

    ``decode_app_message`` for the inbound application messages it registers (35=8, W, X, ...);
    ``<Model>.from_raw`` for the others in the corpus (Heartbeat is handled inside its session,
    NewOrderSingle is outbound: both models exist and parse).
    """
    kf = _kf()
    if raw.msg_type in kf.APP_MESSAGE_MODELS:
        return kf.decode_app_message  # type: ignore[no-any-return]
    by_type = {"0": kf.Heartbeat, "D": kf.NewOrderSingle}
    return by_type[raw.msg_type].from_raw  # type: ignore[no-any-return]


def full_reader(frame: bytes) -> tuple[Callable[[Any], Any], Callable[[Any], None]]:
    """(RawMessage -> model, a function reading every field set on that model by attribute)."""
    kf = _kf()
    raw = kf.decode(frame)
    to_model = typed_decoder(raw)
    plain, groups = present(to_model(raw))
    body = attrgetter(*plain) if plain else None
    group_readers = [(attrgetter(g), attrgetter(*names)) for g, names in groups]

    def read(m: Any) -> None:
        if body is not None:
            body(m)
        for get_group, get_entry in group_readers:
            for e in get_group(m):
                get_entry(e)

    return to_model, read


def read_header(raw: Any) -> None:
    """The header as kalshi-sdk offers it: str values, MsgSeqNum as int."""
    raw.msg_type, raw.seq_num, raw.get(49), raw.get(56), raw.get(52)


@dataclass
class Coverage:
    """What kalshi-sdk's models keep of a corpus."""

    entries_kept: int
    entries_sent: int
    dropped_tags: list[int]

    def describe(self) -> str:
        kept = f"keeps {self.entries_kept} of {self.entries_sent} group entries"
        if not self.dropped_tags:
            return kept
        tags = ", ".join(str(t) for t in self.dropped_tags)
        noun = "tag" if len(self.dropped_tags) == 1 else "tags"
        return f"{kept}; {noun} {tags} not in its models (dropped)"


def _model_tags(model_cls: Any) -> set[int]:
    """Tags a kalshi-sdk model declares (pydantic field metadata), groups included."""
    kf = _kf()
    tags: set[int] = set()
    for field in model_cls.model_fields.values():
        meta = next((m for m in field.metadata if isinstance(m, kf.FixGroupMeta)), None)
        if meta is not None:
            tags.add(meta.num_in_group_tag)
            tags |= _model_tags(meta.entry_model)
        elif isinstance(field.json_schema_extra, dict) and "fix_tag" in field.json_schema_extra:
            tags.add(int(field.json_schema_extra["fix_tag"]))
    return tags


def coverage(frames: list[bytes], group_counts: dict[int, int]) -> Coverage:
    """Group entries kept against those on the wire, and the body tags no model declares.

    ``group_counts`` maps a NumInGroup tag to the entry count it announces on the wire (summed
    over the corpus, the caller reads it from the frames).
    """
    kf = _kf()
    kept, dropped = 0, set()
    for frame in frames:
        raw = kf.decode(frame)
        model = typed_decoder(raw)(raw)
        declared = _model_tags(type(model))
        for tag, _ in raw.pairs:
            if tag not in declared and tag not in HEADER_TAGS and tag not in _FRAMING_TAGS:
                dropped.add(tag)
        kept += sum(len(getattr(model, g)) for g, _ in present(model)[1])
    return Coverage(kept, sum(group_counts.values()), sorted(dropped))


# -- writing -------------------------------------------------------------------------------------


def new_order(cl_ord_id: str, symbol: str, *, cents: int, qty: int) -> Any:
    """kalshi-sdk's NewOrderSingle: GTC limit buy, Price in cents (its default prediction unit)."""
    kf = _kf()
    return kf.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=kf.Side.BUY_YES,
        order_qty=Decimal(qty),
        ord_type=kf.OrdType.LIMIT,
        price=Decimal(cents),
        symbol=symbol,
        time_in_force=kf.TimeInForce.GTC,
    )


def encoder(sender: str, target: str, seq: int, sending_time: str) -> Callable[[Any], bytes]:
    """kalshi-sdk's encode of a model with the header its session writes (5 str pairs).

    It has no typed header: its session formats SendingTime itself, here it is given as a str.
    """
    kf = _kf()
    encode = kf.encode

    def run(message: Any) -> bytes:
        header = [
            (35, type(message).MSG_TYPE.value),
            (49, sender),
            (56, target),
            (34, str(seq)),
            (52, sending_time),
        ]
        return encode(header + message.to_body_fields())  # type: ignore[no-any-return]

    return run


# -- the latency client --------------------------------------------------------------------------


def gateway_keys(
    directory: Path, product: str = "prediction"
) -> tuple[dict[str, Path], tuple[str, Path], Path]:
    """Key files for a gateway serving both our clients and kalshi-sdk's, written to ``directory``.

    kalshi-sdk signs its Logon only with RSA (RSA-PSS, SHA-256): a fresh 2048-bit RSA key is
    registered for it (``SDK_KEY_ID``) next to the product's well-known mock key (Ed25519), which
    our clients use as in the runs without kalshi-sdk. The Logon is not timed.

    Returns:
        (key id -> public key file, for ``--key``; our key id and private key file;
        kalshi-sdk's private key file).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from kalshi_fix_sansio.simulator.gateway import mock_api_key, write_mock_api_key

    mock_id, _, mock_public = mock_api_key(product)
    mock_private = write_mock_api_key(product, directory)
    (directory / "mock-public.pem").write_bytes(mock_public.to_pem())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sdk_private = directory / "kalshi-sdk-private.pem"
    sdk_private.touch(mode=0o600)
    sdk_private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "kalshi-sdk-public.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    keys = {
        mock_id: directory / "mock-public.pem",
        SDK_KEY_ID: directory / "kalshi-sdk-public.pem",
    }
    return keys, (mock_id, mock_private), sdk_private


def latency_block(
    *,
    port: int,
    cafile: str,
    key_path: Path,
    symbol: str,
    orders: int,
    cl_ord_ids: Callable[[], str],
    gateway_cpu: Callable[[], float] = lambda: 0.0,
) -> tuple[list[float], list[float], float, float]:
    """Round trips (s), when each began (``time.perf_counter``), client CPU (s) and gateway
    CPU (s, read with ``gateway_cpu``) of ``orders - 1`` orders through kalshi-sdk's client.

    Its ``FixClient`` on KalshiNR against the gateway on 127.0.0.1 (``FixConfig.prediction``
    with host and port overrides, its ``ssl_context`` option: the gateway's certificate as the
    CA). Its session hands every application message to ``on_message`` as a RawMessage; the
    handler decodes it as its docs say (``decode_app_message``) and resolves the future of the
    order whose ClOrdID the ExecutionReport carries. The round trip runs from just before
    ``session.send`` to the moment the awaiting code resumes with the report. The first order
    warms up and is not timed.
    """
    import asyncio
    import ssl
    import time

    kf = _kf()
    rtts: list[float] = []
    starts: list[float] = []
    cpu_used = gw_used = 0.0

    async def main() -> None:
        nonlocal cpu_used, gw_used
        loop = asyncio.get_running_loop()
        waiting: dict[str, asyncio.Future[Any]] = {}

        async def on_message(raw: Any) -> None:
            msg = kf.decode_app_message(raw)
            if isinstance(msg, kf.ExecutionReport):
                fut = waiting.pop(msg.cl_ord_id, None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)

        client = kf.FixClient(
            kf.FixSigner.from_key_path(SDK_KEY_ID, key_path),
            config=kf.FixConfig.prediction(host="127.0.0.1", port=port, heartbeat_interval=30),
            ssl_context=ssl.create_default_context(cafile=cafile),
        )
        batch = [new_order(cl_ord_ids(), symbol, cents=5, qty=1) for _ in range(orders)]
        async with client.order_entry(on_message=on_message) as session:
            first = waiting[batch[0].cl_ord_id] = loop.create_future()
            await session.send(batch[0])
            await asyncio.wait_for(first, 10)
            perf, cpu = time.perf_counter, time.process_time
            c0, g0 = cpu(), gateway_cpu()
            for order in batch[1:]:
                fut = waiting[order.cl_ord_id] = loop.create_future()
                t = perf()
                await session.send(order)
                await asyncio.wait_for(fut, 10)
                rtts.append(perf() - t)
                starts.append(t)
            cpu_used, gw_used = cpu() - c0, gateway_cpu() - g0

    asyncio.run(main())
    return rtts, starts, cpu_used, gw_used
