"""The CLI speaks CLI: hints name flags and environment variables, usage errors exit 2, and
``kalshi-fix --help`` loads no codec dialect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kalshi_fix_sansio.cli import cli_text, main

PYTHON_ADVICE = (
    "allow_unlisted_hosts",
    "passphrase=",
    "load_signer_file",
    "tls=True",
    "pinned_cert",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith("KALSHI_"):
            monkeypatch.delenv(name)
    return monkeypatch


def _pem(passphrase: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _one_cli_line(err: str) -> str:
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for advice in PYTHON_ADVICE:
        assert advice not in err, f"Python advice {advice!r} in: {err}"
    return err


def test_encrypted_key_names_the_passphrase_variable(
    capsys: pytest.CaptureFixture[str], clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "k.pem"
    key.write_bytes(_pem(b"secret"))
    clean_env.setenv("KALSHI_KEY_ID", "k1")
    clean_env.setenv("KALSHI_PRIVATE_KEY_PATH", str(key))
    code, _, err = run(capsys, "logon-test", "--endpoint", "127.0.0.1:9")
    assert code == 2
    assert "set KALSHI_PRIVATE_KEY_PASSPHRASE" in _one_cli_line(err)
    # margin names its own variable; a passphrase for a plain key says which one to unset
    plain = tmp_path / "plain.pem"
    plain.write_bytes(_pem())
    clean_env.setenv("KALSHI_PERPS_KEY_ID", "k1")
    clean_env.setenv("KALSHI_PERPS_PRIVATE_KEY_PATH", str(plain))
    clean_env.setenv("KALSHI_PERPS_PRIVATE_KEY_PASSPHRASE", "x")
    code, _, err = run(capsys, "logon-test", "--product", "margin", "--endpoint", "127.0.0.1:9")
    assert code == 2
    assert "unset KALSHI_PERPS_PRIVATE_KEY_PASSPHRASE" in _one_cli_line(err)


def test_a_path_in_the_pem_variable_points_to_the_path_variable(
    capsys: pytest.CaptureFixture[str], clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("KALSHI_KEY_ID", "k1")
    clean_env.setenv("KALSHI_PRIVATE_KEY", "/home/me/kalshi.key")
    code, _, err = run(capsys, "logon-test", "--endpoint", "127.0.0.1:9")
    assert code == 2
    assert "set KALSHI_PRIVATE_KEY_PATH to it instead of KALSHI_PRIVATE_KEY" in _one_cli_line(err)


def test_unlisted_host_names_the_flag_and_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "k.pem"
    key.write_bytes(_pem())
    clean_env.setenv("KALSHI_KEY_ID", "k1")
    clean_env.setenv("KALSHI_PRIVATE_KEY_PATH", str(key))
    code, _, err = run(capsys, "logon-test", "--endpoint", "fix.example.com:8228")
    assert code == 2
    assert "add --allow-unlisted-host" in _one_cli_line(err)
    code, _, err = run(
        capsys,
        "logon-test",
        "--endpoint",
        "fix.example.com:8228",
        "--pinned-cert",
        str(tmp_path / "missing.pem"),
        "--allow-unlisted-host",
    )
    assert code == 2 and "missing.pem" in _one_cli_line(err)
    code, _, err = run(capsys, "md", "--endpoint", "tcp://fix.example.com:8228", "MKT")
    assert code == 2 and "drop tcp:// from --endpoint" in _one_cli_line(err)


@pytest.mark.parametrize(
    "args",
    [
        ["logon-test", "--endpoint", "nohostport"],
        ["logon-test", "--endpoint", "127.0.0.1:99999"],
        ["logon-test", "--endpoint", "http://127.0.0.1:8228"],
        ["logon-test", "--session", "XX"],
        ["md"],
        ["mock-gateway", "--key", "no-equals-sign"],
        ["mock-gateway", "--plain", "--tls", "a", "b"],
        ["mock-gateway", "--plain", "--host", "0.0.0.0"],
        ["decode", "--dialect", "futures"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
) -> None:
    key = tmp_path / "k.pem"
    key.write_bytes(_pem())
    clean_env.setenv("KALSHI_KEY_ID", "k1")
    clean_env.setenv("KALSHI_PRIVATE_KEY_PATH", str(key))
    code, _, err = run(capsys, *args)
    assert code == 2, err
    _one_cli_line(err)


def test_cli_text_rewrites_only_python_advice() -> None:
    assert cli_text("to connect (...) pass allow_unlisted_hosts=True") == (
        "to connect (...) add --allow-unlisted-host"
    )
    assert (
        cli_text("the private key is encrypted: pass its passphrase (passphrase=...)", "margin")
        == "the private key is encrypted: set KALSHI_PERPS_PRIVATE_KEY_PASSPHRASE"
    )
    assert cli_text("unknown API key") == "unknown API key"


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_help_imports_no_dialect() -> None:
    dialects = {
        "kalshi_fix_sansio.codec._generated.prediction",
        "kalshi_fix_sansio.codec._generated.margin",
    }
    helped = _modules_after(
        "from kalshi_fix_sansio.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['--help']) == 0\n"
        "    assert main(['mock-gateway', '--help']) == 0\n"
    )
    package = _modules_after("import kalshi_fix_sansio")
    # the CLI module itself adds no dialect, no adapter and no gateway to what the package loads
    added = helped - package
    assert not added & dialects, added & dialects
    assert not {
        m
        for m in added
        if m.startswith(("kalshi_fix_sansio.adapters", "kalshi_fix_sansio.simulator.gateway"))
    }
    if package & dialects:
        pytest.xfail(
            "kalshi_fix_sansio/__init__.py imports the dialects eagerly (through session.py): "
            "the lead makes it lazy (PEP 562 __getattr__), then this asserts the whole --help"
        )
    assert not helped & dialects


def test_cli_module_imports_codecs_and_io_only_inside_commands() -> None:
    import ast

    import kalshi_fix_sansio.cli as cli

    heavy = ("margin", "prediction", "_generated", "adapters", "gateway", "session", "book")
    package = Path(cli.__file__).parent
    modules = sorted(package.glob("*.py"))
    assert {"__init__.py", "decode.py", "live.py", "mock_gateway.py"} <= {p.name for p in modules}
    for path in modules:
        if path.name == "demo.py":  # the demo itself, imported only when `kalshi-fix demo` runs
            continue
        # relative imports resolved: `..margin` is kalshi_fix_sansio.codec.margin, `.decode` a sibling
        top_level: list[str] = []
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = ["kalshi_fix_sansio", "cli"][: 3 - node.level]
                top_level += [
                    ".".join([*base, *filter(None, [node.module]), a.name]) for a in node.names
                ]
        loaded = [
            name
            for name in top_level
            if name.split(".")[0] == "kalshi_fix_sansio"
            and (name.split(".")[1] in heavy or name.startswith("kalshi_fix_sansio.cli.demo"))
        ]
        assert not loaded, (
            f"cli/{path.name} imports {loaded} at module level: --help would load them"
        )
