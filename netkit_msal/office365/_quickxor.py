"""Microsoft's QuickXorHash, the content hash OneDrive for Business and SharePoint report
(``file.hashes.quickXorHash``), so uploads and downloads can be checked against it.

The algorithm (Microsoft's published C# reference): a 160-bit register; byte ``i`` of the content
is XORed in at bit ``11 * i mod 160``, wrapping around; finally the content length (64-bit little
endian) is XORed into the last 8 of the 20 bytes. The result is sent base64 encoded.

Why it is fast in pure Python: the bit position depends only on ``i mod 160`` (11 and 160 are
coprime), so bytes 160 apart land at the same place. ``update`` XOR-folds the data into one 160-byte
block with big-integer operations (C speed, no per-byte loop); ``digest`` places those 160 bytes.
"""

from __future__ import annotations

import base64

_WIDTH = 160          # bits in the register
_BLOCK = _WIDTH       # bytes that come back to the same bit position
_BLOCK_BITS = _BLOCK * 8
_SHIFT = 11
_MASK = (1 << _WIDTH) - 1
_SLICE = 1024 * 1024


def _fold(value: int, blocks: int) -> int:
    """XOR of ``blocks`` consecutive 160-byte blocks held in ``value`` (little endian)."""
    while blocks > 1:
        half = (blocks + 1) // 2
        bits = half * _BLOCK_BITS
        value = (value & ((1 << bits) - 1)) ^ (value >> bits)
        blocks = half
    return value


class QuickXorHash:
    """``hashlib``-style: ``update(data)``, ``digest()`` (20 bytes), ``b64digest()`` (Graph's form)."""

    name = "quickxorhash"
    digest_size = 20

    def __init__(self, data: bytes = b"") -> None:
        self._folded = 0   # 160 bytes: XOR of every byte with the same index mod 160
        self._length = 0
        if data:
            self.update(data)

    def update(self, data: bytes) -> None:
        view = memoryview(data).cast("B")
        for start in range(0, len(view), _SLICE):  # slices keep the big-integer temporaries small
            piece = view[start:start + _SLICE]
            lead = self._length % _BLOCK
            value = int.from_bytes(piece, "little") << (lead * 8)  # byte 0 lands at its index mod 160
            self._folded ^= _fold(value, (lead + len(piece) + _BLOCK - 1) // _BLOCK)
            self._length += len(piece)

    def copy(self) -> QuickXorHash:
        other = QuickXorHash()
        other._folded, other._length = self._folded, self._length
        return other

    def digest(self) -> bytes:
        register = 0
        folded = self._folded
        for index in range(_BLOCK):
            byte = (folded >> (index * 8)) & 0xFF
            if byte:
                shift = (index * _SHIFT) % _WIDTH
                register ^= ((byte << shift) | (byte >> (_WIDTH - shift))) & _MASK
        out = bytearray(register.to_bytes(20, "little"))
        for index, byte in enumerate(self._length.to_bytes(8, "little", signed=False)):
            out[12 + index] ^= byte
        return bytes(out)

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


def quickxorhash(data: bytes) -> str:
    """The base64 QuickXorHash of ``data``, as Graph writes it."""
    return QuickXorHash(data).b64digest()
