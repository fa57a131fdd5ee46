"""The one place secrets are found in raw bytes (`kalshi_fix_sansio.codec.redaction`)."""

from __future__ import annotations

import pytest

from kalshi_fix_sansio.codec.redaction import SECRET_TAGS, mask_secrets, redact_frame, secret_spans

LOGON = b"35=A\x0195=6\x0196=S\x01G=!x\x01108=30\x01"


def test_spans_follow_the_length_field_through_soh_and_equals() -> None:
    (span,) = secret_spans(LOGON)
    assert LOGON[span[0] : span[1]] == b"S\x01G=!x"


@pytest.mark.parametrize("tag", sorted(SECRET_TAGS))
def test_every_secret_tag_is_found_also_with_leading_zeros(tag: int) -> None:
    for written in (b"%d" % tag, b"0%d" % tag):
        data = b"35=0\x01" + written + b"=TOPSECRET\x0158=ok\x01"
        assert b"TOPSECRET" not in redact_frame(data)
        masked = mask_secrets(data)
        assert b"TOPSECRET" not in masked and len(masked) == len(data) and b"58=ok" in masked


def test_redact_and_mask() -> None:
    assert redact_frame(LOGON) == b"35=A\x0195=6\x0196=<redacted 6 bytes>\x01108=30\x01"
    assert mask_secrets(LOGON, b"#") == b"35=A\x0195=6\x0196=######\x01108=30\x01"
    assert redact_frame(b"35=0\x01") == b"35=0\x01" and secret_spans(b"") == []


@pytest.mark.parametrize("bad", [b"", b"**", b"\x01", b"="])
def test_mask_placeholder_must_be_one_harmless_byte(bad: bytes) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        mask_secrets(LOGON, bad)
