"""The SNMP client's encoding and keys, without an agent: BER, RFC 3414's key vectors, USM.

Talking to real agents is tested in test_snmp_probe.py, against snmpwalk.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from probes import snmp_wire as W
from tests.lab.fixtures_snmp import v2c_get_sysuptime

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
# RFC 3414 appendix A.3: pass phrase "maplesyrup" at engine 00…02.
RFC3414_ENGINE = bytes.fromhex("000000000000000000000002")


@pytest.mark.parametrize(("value", "encoded"), [
    (0, "020100"), (127, "02017f"), (128, "02020080"), (256, "02020100"),
    (-1, "0201ff"), (-128, "020180"), (-129, "0202ff7f"), (2**31 - 1, "02047fffffff"),
])
def test_integers_are_encoded_in_the_fewest_octets(value: int, encoded: str) -> None:
    assert W.integer(value).hex() == encoded


@pytest.mark.parametrize("oid", [
    SYS_UPTIME, (1, 3, 6, 1, 4, 1, 2021, 11, 9, 0), (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 2**32),
    (2, 999, 1), (0, 0),
])
def test_oids_survive_encoding(oid: tuple[int, ...]) -> None:
    _tag, start, stop = W.read_tlv(W.encode_oid(oid), 0)
    assert W.decode_oid(W.encode_oid(oid)[start:stop]) == oid


def test_long_lengths_are_read() -> None:
    content = bytes(300)
    tag, start, stop = W.read_tlv(W.tlv(W.OCTET_STRING, content), 0)
    assert (tag, stop - start) == (W.OCTET_STRING, 300)


def test_truncated_messages_are_refused() -> None:
    with pytest.raises(W.BerError):
        W.read_tlv(W.tlv(W.OCTET_STRING, b"abcdef")[:-1], 0)


def test_a_v2c_get_is_the_hand_encoded_one_the_lab_polls_with() -> None:
    message = W.encode_v2c(b"public", W.encode_pdu(W.GET, 1, [SYS_UPTIME]))
    assert message == v2c_get_sysuptime("public")
    assert W.message_id(message) == (1, 1)


@pytest.mark.parametrize(("tag", "content", "value"), [
    (W.INTEGER, b"\xff", -1),
    (0x41, b"\xff\xff\xff\xff", 2**32 - 1),  # Counter32 is unsigned even without a 0 octet
    (0x46, b"\x00\xe5\xf4\xc8\xf3\x68", 987654321000),  # Counter64
    (W.OCTET_STRING, b"eth0", b"eth0"),
    (W.IP_ADDRESS, b"\x0a\x00\x00\x01", "10.0.0.1"),
    (W.OBJECT_IDENTIFIER, b"\x2b\x06\x01", "1.3.6.1"),
    (W.NULL, b"", None), (W.NO_SUCH_OBJECT, b"", None), (W.END_OF_MIB_VIEW, b"", None),
])
def test_values_come_out_plain(tag: int, content: bytes, value: Any) -> None:
    assert W.plain_value(tag, content) == value


def test_rfc3414_sha_key_vector() -> None:
    key = W.password_to_key(b"maplesyrup", hashlib.sha1)
    assert key.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    localized = W.localize(key, RFC3414_ENGINE, hashlib.sha1)
    assert localized.hex() == "6695febc9288e36282235fc7151f128497b38f3f"


@pytest.mark.parametrize("auth", ["sha", "sha256"])
@pytest.mark.parametrize("priv", ["aes", "aes256", "aes256c"])
def test_localized_keys_are_pysnmps(auth: str, priv: str) -> None:
    """pysnmp's USM (what the probe used before, and what snmpsim uses) as the reference,
    also for the Cisco key extension that no lab agent speaks."""
    pysnmp = pytest.importorskip("pysnmp.hlapi.v3arch.asyncio")
    from pysnmp.proto.secmod.eso.priv import aes256
    from pysnmp.proto.secmod.rfc3414 import localkey
    from pysnmp.proto.secmod.rfc3826.priv import aes

    auth_ids = {"sha": pysnmp.usmHMACSHAAuthProtocol,
                "sha256": pysnmp.usmHMAC192SHA256AuthProtocol}
    privacy = {"aes": aes.Aes(), "aes256": aes256.AesBlumenthal256(),
               "aes256c": aes256.Aes256()}[priv]
    digest = W.AUTH_HASHES[auth]
    engine = pysnmp.OctetString(hexValue="80001f8880e9630000d61ff449")
    auth_key, priv_key = W.localized_keys(auth, "auth-pass-1", priv, "priv-pass-1",
                                          engine.asOctets())

    expected_auth = localkey.localize_key(
        localkey.hash_passphrase("auth-pass-1", digest), engine, digest)
    expected_priv = privacy.localize_key(
        auth_ids[auth], privacy.hash_passphrase(auth_ids[auth], "priv-pass-1"), engine)
    assert auth_key == expected_auth.asOctets()
    assert priv_key == expected_priv.asOctets()


USM = W.Usm("monitor", "sha256", "auth-pass-1", "aes256", "priv-pass-1")
ENGINE = W.Engine(bytes.fromhex("80001f8880e9630000d61ff449"), boots=3, seconds=1234)


def test_an_authpriv_message_reads_back_with_the_same_keys() -> None:
    pdu = W.encode_pdu(W.RESPONSE, 42, [SYS_UPTIME])
    message = W.encode_v3(7, W.FLAG_AUTH | W.FLAG_PRIV, ENGINE, USM,
                          W.scoped_pdu(ENGINE.id, b"", pdu))
    assert W.message_id(message) == (3, 7)
    decoded = W.decode_v3(message, USM)
    assert decoded is not None
    assert (decoded.pdu.kind, decoded.pdu.request_id) == (W.RESPONSE, 42)
    assert [v.oid for v in decoded.pdu.varbinds] == [SYS_UPTIME]
    assert (decoded.engine.id, decoded.engine.boots) == (ENGINE.id, 3)
    # The payload is encrypted: the request-id's OID is not readable in it.
    assert W.encode_oid(SYS_UPTIME) not in message


def test_a_message_altered_in_transit_or_for_other_keys_is_ignored() -> None:
    message = W.encode_v3(7, W.FLAG_AUTH | W.FLAG_PRIV, ENGINE, USM,
                          W.scoped_pdu(ENGINE.id, b"", W.encode_pdu(W.RESPONSE, 42, [])))
    altered = message[:-1] + bytes((message[-1] ^ 1,))
    assert W.decode_v3(altered, USM) is None
    other_keys = W.Usm("monitor", "sha256", "another-pass", "aes256", "priv-pass-1")
    assert W.decode_v3(message, other_keys) is None


def forged(auth_parameter: bytes, flags: int = W.FLAG_AUTH, boots: int = 3) -> bytes:
    """A message claiming to be authenticated for USM's user, built without its keys."""
    header = W.tlv(W.SEQUENCE, W.integer(7) + W.integer(W.MAX_MESSAGE_SIZE)
                   + W.tlv(W.OCTET_STRING, bytes((flags,))) + W.integer(W.USM_SECURITY_MODEL))
    security = W.tlv(W.SEQUENCE, W.tlv(W.OCTET_STRING, ENGINE.id) + W.integer(boots)
                     + W.integer(1234) + W.tlv(W.OCTET_STRING, USM.user.encode())
                     + W.tlv(W.OCTET_STRING, auth_parameter) + W.tlv(W.OCTET_STRING, b""))
    pdu = W.scoped_pdu(ENGINE.id, b"", W.encode_pdu(W.RESPONSE, 42, [SYS_UPTIME]))
    return W.tlv(W.SEQUENCE, W.integer(3) + header + W.tlv(W.OCTET_STRING, security) + pdu)


def test_a_forged_digest_of_any_length_is_refused() -> None:
    # An empty (or short) authentication parameter must not pass for the digest's prefix.
    for parameter in (b"", b"\x00", bytes(W.AUTH_DIGEST_SIZES[USM.auth_protocol] - 1),
                      bytes(W.AUTH_DIGEST_SIZES[USM.auth_protocol])):
        assert W.decode_v3(forged(parameter), USM) is None


def test_engine_counters_outside_the_rfc_range_are_refused() -> None:
    for boots in (-1, 2**31, 2**40):
        assert W.decode_v3(forged(b"", flags=0, boots=boots), None) is None
    assert W.decode_v3(forged(b"", flags=0), None) is not None


def v2c_response(error_status: bytes, name: bytes, value: bytes) -> bytes:
    varbind = W.tlv(W.SEQUENCE, name + value)
    pdu = W.tlv(W.RESPONSE, W.integer(42) + W.tlv(W.INTEGER, error_status) + W.integer(0)
                + W.tlv(W.SEQUENCE, varbind))
    return W.tlv(W.SEQUENCE, W.integer(1) + W.tlv(W.OCTET_STRING, b"public") + pdu)


def test_numbers_no_snmp_type_can_hold_are_refused_as_bad_encoding() -> None:
    # Integers longer than Counter64, and OIDs with huge or too many arcs: a broken or
    # hostile device, refused as bad BER (which the client drops) before they become
    # Python integers too long to print or to turn into a float.
    uptime = W.encode_oid(SYS_UPTIME)
    assert W.decode_v2c(v2c_response(b"\x00", uptime, W.tlv(0x43, b"\x01" + bytes(8))),
                        b"public") is not None
    for message in (
        v2c_response(b"\x01" + bytes(1800), uptime, W.tlv(0x05, b"")),
        v2c_response(b"\x00", W.tlv(W.OBJECT_IDENTIFIER, b"\x2b" + b"\x81" * 2100 + b"\x01"),
                     W.tlv(0x05, b"")),
        v2c_response(b"\x00", W.tlv(W.OBJECT_IDENTIFIER, b"\x2b" + b"\x01" * 200),
                     W.tlv(0x05, b"")),
        v2c_response(b"\x00", uptime, W.tlv(0x43, b"\x01" + bytes(200))),
    ):
        with pytest.raises(W.BerError):
            W.decode_v2c(message, b"public")
