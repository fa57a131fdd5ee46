"""A client's configuration cannot surprise: refused when built, or it says where it connects.

* Every constructor option is checked when the client is built: an ``endpoints`` key that is
  not a session type of the product (with the likely intended name), a value that is not an
  `Endpoint`, wrong types, ``config`` keys that are not `SessionConfig` fields.
* A session type missing from ``endpoints`` while another entry points away from Kalshi (a
  mock gateway on loopback) is refused when its session is made, not sent to Kalshi's real
  host; ``allow_mixed_endpoints=True`` is the explicit opt-in.
* The client, its `ConnectOptions` and `describe_target` say which environment and host each
  session type dials, never key material.
"""

from __future__ import annotations

import base64
import logging
import re
import ssl
from pathlib import Path
from typing import Any

import attrs
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from gateway_fixtures import GatewayHarness

from kalshi_fix_sansio import Backoff
from kalshi_fix_sansio.adapters.blocking import FixClient, MarginFixClient
from kalshi_fix_sansio.client import (
    TRANSPORT_LOGGER_NAME,
    ConnectOptions,
    Endpoint,
    describe_target,
    kalshi_endpoint,
)
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.codec.spec import ENVIRONMENTS, SESSIONS
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.auth import KeyLoadError
from kalshi_fix_sansio.session.config import SessionConfig
from kalshi_fix_sansio.simulator.gateway import MockGateway
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

LOOPBACK = Endpoint("127.0.0.1", 5001, tls=False)


def names(product: str) -> list[str]:
    return [spec.name for spec in SESSIONS.values() if spec.product == product]


def credentials() -> Credentials:
    return Credentials("key-1", new_ed25519_keys()[0])


def refusal(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(LocalProtocolError) as info:
        call(*args, **kwargs)
    return str(info.value)


def lists_session_types(text: str, product: str) -> bool:
    return f"{product} session types: {', '.join(names(product))}" in text


# ----------------------------------------------------------------------------------------------
# endpoints= keys and values


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("NR", "KalshiNR"),
        ("kalshinr", "KalshiNR"),
        ("KalshiNR ", "KalshiNR"),
        (" kalshi nr", "KalshiNR"),
        ("Kalshi-MD", "KalshiMD"),
        ("KALSHIRFQ", "KalshiRFQ"),
        ("KalshiNRR", "KalshiNR"),
        ("md", "KalshiMD"),
    ],
)
def test_a_near_miss_endpoints_key_is_refused_with_did_you_mean(key: str, meant: str) -> None:
    text = refusal(FixClient, credentials(), endpoints={key: LOOPBACK})
    assert text.startswith(f"endpoints key {key!r}: "), text
    assert f"did you mean {meant}?" in text
    assert lists_session_types(text, "prediction"), text


@pytest.mark.parametrize("key", ["Orders", "Kalshi", "", 8228, None])
def test_an_unknown_endpoints_key_lists_the_valid_names(key: object) -> None:
    text = refusal(FixClient, credentials(), endpoints={key: LOOPBACK})
    assert text.startswith(f"endpoints key {key!r}: "), text
    assert "did you mean" not in text
    assert lists_session_types(text, "prediction"), text


def test_a_session_type_of_the_other_product_says_whose_it_is() -> None:
    text = refusal(MarginFixClient, credentials(), endpoints={"KalshiPT": LOOPBACK})
    assert text.startswith("endpoints key 'KalshiPT': margin has no KalshiPT session"), text
    assert "KalshiPT is prediction only" in text
    assert lists_session_types(text, "margin"), text
    assert "KalshiRFQ" not in text  # the margin list is margin's


@pytest.mark.parametrize(
    ("value", "received"),
    [
        ("127.0.0.1:5001", "str '127.0.0.1:5001'"),
        (("127.0.0.1", 5001), "a tuple"),
        ({"host": "127.0.0.1", "port": 5001}, "a dict"),
        (None, "None"),
    ],
)
def test_an_endpoints_value_that_is_not_an_endpoint_is_refused(
    value: object, received: str
) -> None:
    text = refusal(FixClient, credentials(), endpoints={"KalshiMD": value})
    assert text.startswith("endpoints['KalshiMD'] must be an Endpoint"), text
    assert text.endswith(f"got {received}"), text


def test_endpoints_must_be_a_mapping() -> None:
    text = refusal(FixClient, credentials(), endpoints=[("KalshiNR", LOOPBACK)])
    assert text.startswith("endpoints must be a mapping of session type -> Endpoint"), text
    assert text.endswith("got a list")


# ----------------------------------------------------------------------------------------------
# the other options


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("heartbeat_interval", 0, "heartbeat_interval must be an int > 0 (seconds), got int 0"),
        ("heartbeat_interval", -5, "heartbeat_interval must be an int > 0 (seconds), got int -5"),
        ("heartbeat_interval", 30.0, "heartbeat_interval must be an int > 0 (seconds), got float"),
        ("heartbeat_interval", "30", "heartbeat_interval must be an int > 0 (seconds), got str"),
        ("heartbeat_interval", True, "heartbeat_interval must be an int > 0 (seconds), got bool"),
        ("backoff", {"base": 1.0}, "backoff must be a Backoff or None, got a dict"),
        ("backoff", 3, "backoff must be a Backoff or None, got int 3"),
        ("store_dir", 3, "store_dir must be a path (str or os.PathLike) or None, got int 3"),
        ("message_log_path", b"fix.log", "message_log_path must be a path"),
        ("cafile", 1, "cafile must be a path"),
        ("pinned_cert", ["cert.pem"], "pinned_cert must be a path"),
        ("allow_unlisted_hosts", "no", "allow_unlisted_hosts must be True or False, got str 'no'"),
        ("allow_mixed_endpoints", 1, "allow_mixed_endpoints must be True or False, got int 1"),
        ("reconnect", None, "reconnect must be True or False, got None"),
        ("config", [("logon_timeout", 5)], "config must be a mapping"),
    ],
)
def test_each_option_of_the_wrong_type_is_refused_by_name(
    option: str, value: object, expected: str
) -> None:
    text = refusal(FixClient, credentials(), **{option: value})
    assert text.startswith(expected), text


def test_config_keys_are_session_config_fields() -> None:
    text = refusal(
        FixClient, credentials(), config={"logon_timout": 5, "store": None, "colour": "red"}
    )
    assert text.startswith("config: not a SessionConfig field a client takes: "), text
    assert "'logon_timout' (did you mean 'logon_timeout'?)" in text
    assert "'store' (set by the client: store_dir= keeps durable stores)" in text
    assert "'colour'" in text
    valid = text.split("; valid: ", 1)[1].split(", ")
    fields = {f.name for f in attrs.fields(SessionConfig)}
    assert set(valid) <= fields and "logon_timeout" in valid and "rate_limiter" in valid
    assert not {"sender_comp_id", "signer", "store", "session_type", "product"} & set(valid)


def test_factory_flags_are_checked_the_same_way() -> None:
    client = FixClient(credentials())
    text = refusal(client.session, "KalshiNR", logon_timout=5)
    assert text.startswith("KalshiNR flags: not a SessionConfig field a client takes: ")
    assert "did you mean 'logon_timeout'?" in text
    text = refusal(client.order_entry, signer=None)
    assert "'signer' (set by the client: the credentials' signer)" in text


def test_the_environment_says_what_was_meant() -> None:
    text = refusal(FixClient, credentials(), "Production")
    assert text == (
        "environment must be 'demo' or 'production', got 'Production' (did you mean 'production'?)"
    )
    assert "did you mean" not in refusal(FixClient, credentials(), "staging")


def test_credentials_of_the_wrong_type_never_echo_the_value() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"
    text = refusal(FixClient, pem)
    assert text.startswith("credentials must be Credentials"), text
    assert text.endswith("got a str") and "PRIVATE" not in text and "MC4C" not in text


def test_a_heartbeat_interval_over_an_hour_is_refused_by_client_and_config() -> None:
    """``heartbeat_interval=10**12`` was taken; Kalshi documents no maximum: an hour is the
    bound (`MAX_HEARTBEAT_INTERVAL`, also the most a peer's Logon may ask for)."""
    from kalshi_fix_sansio.session.config import MAX_HEARTBEAT_INTERVAL

    assert MAX_HEARTBEAT_INTERVAL == 3600
    text = refusal(FixClient, credentials(), heartbeat_interval=10**12)
    assert text == (
        f"heartbeat_interval {10**12} is too long: at most 3600 seconds, an hour (Kalshi's "
        "default is 30)"
    )
    assert FixClient(credentials(), heartbeat_interval=3600).heartbeat_interval == 3600
    for product in ("prediction", "margin"):
        with pytest.raises(LocalProtocolError, match="heartbeat_interval 3601 is too long"):
            SessionConfig(
                sender_comp_id="k",
                product=product,
                session_type="KalshiNR",
                heartbeat_interval=3601,
            )
        with pytest.raises(LocalProtocolError, match="must be whole seconds"):
            SessionConfig(
                sender_comp_id="k",
                product=product,
                session_type="KalshiNR",
                heartbeat_interval=30.5,  # type: ignore[arg-type]
            )
        ok = SessionConfig(
            sender_comp_id="k", product=product, session_type="KalshiNR", heartbeat_interval=3600
        )
        assert ok.heartbeat_interval == 3600


def test_good_options_of_every_accepted_type_build_a_client(tmp_path: Path) -> None:
    client = FixClient(
        credentials(),
        "production",
        heartbeat_interval=10,
        ssl_context=ssl.create_default_context(),
        allow_unlisted_hosts=True,
        endpoints={
            "KalshiNR": Endpoint("10.0.0.7", 8228, server_hostname="mm.fix.elections.kalshi.com")
        },
        allow_mixed_endpoints=False,
        backoff=Backoff(attempts=1),
        reconnect=False,
        store_dir=tmp_path,
        message_log_path=str(tmp_path / "fix.log"),
        config={"logon_timeout": 3.0, "cancel_orders_on_disconnect": True},
    )
    config, options = client.profile("KalshiRT", logout_timeout=1.0)
    assert (config.logon_timeout, config.logout_timeout, config.heartbeat_interval) == (
        3.0,
        1.0,
        10,
    )
    assert options.endpoint == kalshi_endpoint("prediction", "production", "KalshiRT")


# ----------------------------------------------------------------------------------------------
# session type names in the factories: one check, in profile


@pytest.mark.parametrize("name", ["NR", "kalshimd", "KalshiMD ", "RFQ"])
def test_a_session_name_near_a_valid_one_is_refused_with_did_you_mean(name: str) -> None:
    client = FixClient(credentials())
    for call in (client.profile, client.session):
        text = refusal(call, name)
        shown = name if name.isidentifier() else repr(name)
        assert text.startswith(f"prediction has no {shown} session (did you mean Kalshi"), text
        assert lists_session_types(text, "prediction"), text


def test_margin_factories_name_what_margin_lacks() -> None:
    client = MarginFixClient(credentials())
    for call, missing in ((client.post_trade, "KalshiPT"), (client.rfq, "KalshiRFQ")):
        text = refusal(call)
        assert text.startswith(f"margin has no {missing} session ({missing} is prediction only)")
        assert lists_session_types(text, "margin"), text


# ----------------------------------------------------------------------------------------------
# partial endpoints: never half a test gateway and half Kalshi


def test_a_session_type_missing_beside_a_loopback_override_is_refused() -> None:
    client = FixClient(credentials(), endpoints={"KalshiNR": LOOPBACK})
    _, options = client.profile("KalshiNR")  # the overridden one works
    assert options.endpoint == LOOPBACK
    for session_type in names("prediction"):
        if session_type == "KalshiNR":
            continue
        text = refusal(client.profile, session_type)
        assert text.startswith(f"{session_type} is not in endpoints=, "), text
        assert "KalshiNR -> tcp://127.0.0.1:5001" in text
        assert f"endpoints[{session_type!r}]" in text and "allow_mixed_endpoints=True" in text
        assert str(kalshi_endpoint("prediction", "demo", session_type)) in text
    # the factories refuse before anything is built or dialed
    for factory in (client.market_data, client.drop_copy, client.post_trade, client.rfq):
        with pytest.raises(LocalProtocolError, match="is not in endpoints="):
            factory()
    with pytest.raises(LocalProtocolError, match="KalshiRT is not in endpoints="):
        client.order_entry(retransmission=True)


def test_every_kind_of_host_away_from_the_environment_counts() -> None:
    away = [
        Endpoint("localhost", 5001, server_hostname="localhost"),
        Endpoint("::1", 5001, tls=False),
        Endpoint("fix.example.com", 8228),
        Endpoint("mm.fix.elections.kalshi.com", 8228),  # production, on a demo client
        Endpoint("margin-fix.demo.kalshi.co", 8228),  # margin's host, on a prediction client
    ]
    for endpoint in away:
        client = FixClient(
            credentials(), endpoints={"KalshiNR": endpoint}, allow_unlisted_hosts=True
        )
        with pytest.raises(LocalProtocolError, match="KalshiMD is not in endpoints="):
            client.profile("KalshiMD")


def test_overrides_that_stay_on_kalshi_of_the_environment_keep_the_others() -> None:
    privatelink = Endpoint("10.0.0.7", 8228, server_hostname="fix.demo.kalshi.co")
    other_port = Endpoint("fix.demo.kalshi.co", 443)
    for endpoint in (privatelink, other_port):
        client = FixClient(
            credentials(), endpoints={"KalshiNR": endpoint}, allow_unlisted_hosts=True
        )
        _, options = client.profile("KalshiMD")
        assert options.endpoint == kalshi_endpoint("prediction", "demo", "KalshiMD")
    production = FixClient(
        credentials(),
        "production",
        endpoints={"KalshiNR": Endpoint("mm.fix.elections.kalshi.com", 8228)},
    )
    _, options = production.profile("KalshiDC")
    assert options.endpoint == kalshi_endpoint("prediction", "production", "KalshiDC")


def test_allow_mixed_endpoints_is_the_explicit_opt_in() -> None:
    client = FixClient(credentials(), endpoints={"KalshiNR": LOOPBACK}, allow_mixed_endpoints=True)
    config, options = client.profile("KalshiMD")
    assert options.endpoint == kalshi_endpoint("prediction", "demo", "KalshiMD")
    assert describe_target(config, options) == (
        "prediction/KalshiMD demo -> tls://marketdata.fix.demo.kalshi.co:8233 (Kalshi demo)"
    )
    assert client.profile("KalshiNR")[1].endpoint == LOOPBACK


def test_no_endpoints_means_kalshi_for_every_session_type() -> None:
    for environment in ("demo", "production"):
        for cls, product in ((FixClient, "prediction"), (MarginFixClient, "margin")):
            client = cls(credentials(), environment)
            for session_type in names(product):
                _, options = client.profile(session_type)
                assert options.endpoint == kalshi_endpoint(product, environment, session_type)


def test_a_mock_gateway_client_reaches_every_session_type_there() -> None:
    signer, public_key = new_ed25519_keys()
    for product in ("prediction", "margin"):
        with MockGateway(product, keys={"key-1": public_key}) as gw:
            client = gw.client("key-1", signer)
            assert "refused" not in repr(client)
            for session_type in names(product):
                config, options = client.profile(session_type)
                assert options.endpoint == gw.endpoints[session_type]
                line = describe_target(config, options)
                assert line == f"{product}/{session_type} demo -> {options.endpoint} (override)"


# ----------------------------------------------------------------------------------------------
# where a client connects, in words; no secrets


def test_describe_target_names_environment_host_and_origin() -> None:
    client = FixClient(credentials())
    config, options = client.profile("KalshiNR")
    assert describe_target(config, options) == (
        "prediction/KalshiNR demo -> tls://fix.demo.kalshi.co:8228 (Kalshi demo)"
    )
    config, options = MarginFixClient(credentials(), "production").profile("KalshiMD")
    host = ENVIRONMENTS["margin"]["production"]["market_data"]
    assert describe_target(config, options) == (
        f"margin/KalshiMD production -> tls://{host}:8233 (Kalshi production)"
    )
    config, options = FixClient(credentials(), endpoints={"KalshiNR": LOOPBACK}).profile("KalshiNR")
    assert describe_target(config, options) == (
        "prediction/KalshiNR demo -> tcp://127.0.0.1:5001 (override)"
    )
    wrong_environment = FixClient(
        credentials(),
        endpoints={
            name: kalshi_endpoint("prediction", "production", name) for name in names("prediction")
        },
    )
    config, options = wrong_environment.profile("KalshiRT")
    assert describe_target(config, options) == (
        "prediction/KalshiRT demo -> tls://mm.fix.elections.kalshi.com:8230 "
        "(override: a Kalshi production host)"
    )


def test_describe_target_of_hand_made_options_uses_what_it_has() -> None:
    config = SessionConfig(sender_comp_id="key-1", session_type="KalshiDC")
    options = ConnectOptions(
        endpoint=kalshi_endpoint("prediction", "demo", "KalshiDC"), ssl_context=None
    )
    assert describe_target(config, options) == (
        "prediction/KalshiDC -> tls://fix.demo.kalshi.co:8229 (Kalshi demo)"
    )
    assert repr(options).startswith(
        "ConnectOptions(endpoint tls://fix.demo.kalshi.co:8229 (a Kalshi demo host), "
    )


def key_material() -> tuple[str, list[str]]:
    """A PEM private key and the strings that must never appear in a repr."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    body = "".join(line for line in pem.splitlines() if "-----" not in line)
    secrets = [body, body[:16], raw.hex(), base64.b64encode(raw).decode("ascii"), "PRIVATE KEY"]
    return pem, secrets


def test_reprs_show_product_environment_and_endpoints_never_the_key() -> None:
    pem, secrets = key_material()
    client = FixClient.from_key(
        "key-1", pem=pem, endpoints={"KalshiNR": LOOPBACK, "KalshiRT": LOOPBACK}
    )
    text = repr(client)
    assert text.startswith("FixClient(product='prediction', environment='demo', key_id='key-1', ")
    assert "KalshiNR -> tcp://127.0.0.1:5001 (override)" in text
    assert "KalshiMD -> refused (not in endpoints=)" in text
    for session_type in names("prediction"):
        assert f"{session_type} -> " in text
    _, options = client.profile("KalshiRT")
    options_text = repr(options)
    assert options_text.startswith(
        "ConnectOptions(prediction/KalshiRT demo -> tcp://127.0.0.1:5001 (override), "
        "ssl_context=None, "
    ), options_text
    production = MarginFixClient.from_key(
        "key-2", pem=pem, environment="production", ssl_context=ssl.create_default_context()
    )
    production_text = repr(production)
    assert production_text.startswith(
        "MarginFixClient(product='margin', environment='production', key_id='key-2', "
    )
    host = ENVIRONMENTS["margin"]["production"]["order_entry"]
    assert f"KalshiNR -> tls://{host}:8228 (Kalshi production)" in production_text
    texts = [text, options_text, production_text, repr(production.profile("KalshiNR")[1])]
    for shown in texts:
        for secret in secrets:
            assert secret not in shown
        assert not re.search(r"[A-Za-z0-9+/]{40,}", shown), shown  # no base64 blob at all


def test_the_opt_ins_show_in_the_repr() -> None:
    client = FixClient(credentials(), endpoints={"KalshiNR": LOOPBACK}, allow_mixed_endpoints=True)
    text = repr(client)
    assert ", allow_mixed_endpoints=True, " in text and "refused" not in text
    assert "KalshiMD -> tls://marketdata.fix.demo.kalshi.co:8233 (Kalshi demo)" in text


def test_a_session_says_where_it_dials_in_its_repr_and_logs_it_on_connect(
    prediction_gateway: GatewayHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = prediction_gateway
    session = FixClient(h.credentials(), **h.client_kwargs()).order_entry()
    port = h.gateway.endpoint("KalshiNR").port
    target = f"prediction/KalshiNR demo -> tls://127.0.0.1:{port} (override)"
    assert repr(session) == f"<BlockingSession {target} (not opened)>"
    with caplog.at_level(logging.INFO, logger=TRANSPORT_LOGGER_NAME), session:
        assert repr(session) == f"<BlockingSession {target} (active)>"
    lines = [r.getMessage() for r in caplog.records if "connecting:" in r.getMessage()]
    assert lines == [f"prediction/KalshiNR: connecting: {target}"]


@pytest.mark.parametrize(
    ("cls", "prefix"), [(FixClient, "KALSHI_"), (MarginFixClient, "KALSHI_PERPS_")]
)
def test_from_env_with_an_encrypted_key_names_the_passphrase_variable(
    cls: type[FixClient], prefix: str, tmp_path: Path
) -> None:
    """``from_env`` takes no ``passphrase=``: its key errors name the variable to set instead,
    and setting it is enough."""
    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "kalshi-fix.key"
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"correct horse"),
    ))  # fmt: skip
    env = {f"{prefix}KEY_ID": "key-1", f"{prefix}PRIVATE_KEY_PATH": str(path)}
    passphrase = f"{prefix}PRIVATE_KEY_PASSPHRASE"
    with pytest.raises(KeyLoadError) as info:
        cls.from_env("demo", environ=env)
    assert str(info.value) == (
        f"{str(path)!r}: the private key is encrypted: set {passphrase} to its passphrase"
    )
    assert info.value.path == str(path)
    with pytest.raises(KeyLoadError, match=rf"wrong passphrase in {passphrase}\?") as wrong:
        cls.from_env("demo", environ={**env, passphrase: "wrong"})
    client = cls.from_env("demo", environ={**env, passphrase: "correct horse"})  # as it says
    assert client.credentials.key_id == "key-1"

    plain = tmp_path / "plain.key"
    plain.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))  # fmt: skip
    with pytest.raises(KeyLoadError, match=f"not encrypted: unset {passphrase}$") as extra:
        cls.from_env(
            "demo", environ={**env, f"{prefix}PRIVATE_KEY_PATH": str(plain), passphrase: "x"}
        )
    with pytest.raises(
        KeyLoadError, match=f"set {prefix}PRIVATE_KEY_PATH to it instead of "
    ) as pem:
        cls.from_env(
            "demo", environ={f"{prefix}KEY_ID": "key-1", f"{prefix}PRIVATE_KEY": str(path)}
        )
    for error in (info, wrong, extra, pem):  # no advice a from_env caller cannot follow
        assert "passphrase=" not in str(error.value) and "load_signer" not in str(error.value)
