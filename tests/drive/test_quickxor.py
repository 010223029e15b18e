"""QuickXorHash against rclone's published test vectors (an outside reference implementation) and
against a plain per-byte transcription of Microsoft's description, for any way of splitting the input."""

from __future__ import annotations

import base64
import random

import pytest

from netkit_msal.office365._quickxor import QuickXorHash, quickxorhash

# (input, expected) in base64, from rclone's backend/onedrive/quickxorhash/quickxorhash_test.go.
RCLONE_VECTORS = [
    ("", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    ("Sg==", "SgAAAAAAAAAAAAAAAQAAAAAAAAA="),
    ("tbQ=", "taAFAAAAAAAAAAAAAgAAAAAAAAA="),
    ("0pZP", "0rDEEwAAAAAAAAAAAwAAAAAAAAA="),
    ("/aNzzCFPS/A=", "/RjFHJgRgicsAR4ACAAAAAAAAAA="),
    ("2fuxhBJXtpWFe8dOfdGeHw==", "O9tHLAghgSvYohKFyMMxnNCHaHg="),
    ("T6LYJIfDh81JrAK309H2JMJTXis=", "zBTHrspn3mEcohlJdIUAbjGNaNg="),
    ("NbYXsp5/K6mR+NmHwExjvWeWDJFnXTKWVlzYHoesp2E=", "wjuAuWDiq04qDt1R8hHWDDcwVoQ="),
    ("Mb7EGva2rEE5fENDL85P+BsapHEEjv2/siVhKjvAQe02feExVOQSkfmuYzU/kTF1MaKjPmKF/w+cbvwfdWL8aQ==",
     "n1anP5NfvD4XDYWIeRPW3ZkPv1Y="),
    (("jyibxJSzO6ZiZ0O1qe3tG/bvIAYssvukh9suIT5wEy1JBINVgPiqdsTW0cOpP0aUfP7mgqLfADkzI/m/GgCuVhr8oFLrOCoTx1/psBOWwhlt"
      "CbhUx51Icm9aH8tY4Z3ccU+6BKpYQkLCy0B/A9Zc"), "hZfLIilSITC6N3e3tQ/iSgEzkto="),
    (("ikwCorI7PKWz17EI50jZCGbV9JU2E8bXVfxNMg5zdmqSZ2NlsQPp0kqYIPjzwTg1MBtfWPg53k0h0P2naJNEVgrqpoHTfV2b3pJ4m0zYPTJm"
      "UX4Bg/lOxcnCxAYKU29Y5F0U8Quz7ZXFBEweftXxJ7RS4r6N7BzJrPsLhY7hgck="), "imAoFvCWlDn4yVw3/oq1PDbbm6U="),
    (("qwGf2ESubE5jOUHHyc94ORczFYYbc2OmEzo+hBIyzJiNwAzC8PvJqtTzwkWkSslgHFGWQZR2BV5+uYTrYT7HVwRM40vqfj0dBgeDENyTenIO"
      "L1LHkjtDKoXEnQ0mXAHoJ8PjbNC93zi5TovVRXTNzfGEs5dpWVqxUzb5lc7dwkyvOluBw482mQ4xrzYyIY1t+//OrNi1ObGXuUw2jBQOFfJV"
      "j2Y6BOyYmfB1y36eBxi3zxeG5d5NYjm2GSh6e08QMAwu3zrINcqIzLOuNIiGXBtl7DjKt7b5wqi4oFiRpZsCyx2smhSrdrtK/CkdU6nDN+34"
      "vSR/M8rZpWQdBE7a8g=="), "WYT9JY3JIo/pEBp+tIM6Gt2nyTM="),
]


@pytest.mark.parametrize("data, expected", RCLONE_VECTORS)
def test_matches_rclone_vectors(data, expected):
    content = base64.b64decode(data)
    assert quickxorhash(content) == expected
    for block in (1, 7, 64, 160, 161):
        hasher = QuickXorHash()
        for start in range(0, len(content), block):
            hasher.update(content[start:start + block])
        assert hasher.b64digest() == expected


def _per_byte(data: bytes) -> str:
    """Microsoft's description, one byte at a time: byte i at bit 11*i mod 160, then the length."""
    register = 0
    for index, byte in enumerate(data):
        shift = (index * 11) % 160
        register ^= ((byte << shift) | (byte >> (160 - shift))) & ((1 << 160) - 1)
    out = bytearray(register.to_bytes(20, "little"))
    for index, byte in enumerate(len(data).to_bytes(8, "little")):
        out[12 + index] ^= byte
    return base64.b64encode(bytes(out)).decode()


def test_any_split_gives_the_per_byte_result():
    generator = random.Random(14)
    for size in (159, 160, 161, 1000, 4096 + 3):
        data = generator.randbytes(size)
        hasher = QuickXorHash()
        position = 0
        while position < size:
            step = generator.randint(1, 400)
            hasher.update(data[position:position + step])
            position += step
        assert hasher.b64digest() == _per_byte(data)


def test_copy_is_independent():
    hasher = QuickXorHash(b"abc")
    twin = hasher.copy()
    twin.update(b"d")
    assert hasher.b64digest() == quickxorhash(b"abc") != twin.b64digest() == quickxorhash(b"abcd")
