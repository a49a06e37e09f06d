"""Frames of the worker protocol (docs/protocol.md): a 4-byte big-endian
length, then one msgpack map with a string field ``t``."""

from __future__ import annotations

from typing import Any, Optional

import msgpack

DEFAULT_MAX_FRAME = 16 * 1024 * 1024

# `rawBody` is a msgpack str holding the request bytes as received, which need
# not be UTF-8. surrogateescape keeps such bytes (as lone surrogates) instead
# of failing, and the packer writes them back unchanged.
_UNICODE_ERRORS = "surrogateescape"


class ProtocolError(Exception):
    """Bytes that break the protocol; the worker exits 2 on it."""


class FrameTooLargeError(ValueError):
    """A message whose encoding is over the frame limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"message of {size} bytes is over the frame limit of {limit} bytes")


_packer = msgpack.Packer(use_bin_type=True, unicode_errors=_UNICODE_ERRORS)


def encode(msg: Any) -> bytes:
    """The msgpack payload of `msg` (no length prefix). Raises on a value
    msgpack cannot hold (e.g. an integer past 64 bits)."""
    try:
        return _packer.pack(msg)
    except BaseException:
        # A failed pack can leave half a message in the packer's buffer.
        _packer.reset()
        raise


def frame(payload: bytes) -> bytes:
    """`payload` with its 4-byte big-endian length in front."""
    return len(payload).to_bytes(4, "big") + payload


def encode_frame(msg: Any) -> bytes:
    return frame(encode(msg))


def decode(payload: bytes) -> dict:
    """Decodes one payload and checks the envelope. Raises ProtocolError if it
    is not msgpack, not a map, or has no string ``t``."""
    try:
        msg = msgpack.unpackb(payload, raw=False, strict_map_key=False,
                              unicode_errors=_UNICODE_ERRORS)
    except Exception as err:  # msgpack raises several unrelated types
        raise ProtocolError(f"frame is not valid msgpack: {err or type(err).__name__}") from None
    if not isinstance(msg, dict):
        raise ProtocolError(f"frame is not a msgpack map (got {_describe(msg)})")
    if not isinstance(msg.get("t"), str):
        raise ProtocolError('frame has no string field "t"')
    return msg


def _describe(v: Any) -> str:
    if v is None:
        return "nil"
    if isinstance(v, (list, tuple)):
        return "array"
    if isinstance(v, (bytes, bytearray)):
        return "bin"
    return type(v).__name__


class FrameDecoder:
    """Splits a byte stream into frame payloads.

    A length is checked as soon as its 4 bytes are in, so a frame over the
    limit is refused before its body is read.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> None:
        if self._pos and self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        self._buf += data

    def next(self) -> Optional[bytes]:
        """The next complete payload, or None if more bytes are needed.
        Raises ProtocolError on a length of 0 or over the limit."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 4:
            self._compact()
            return None
        n = int.from_bytes(buf[pos:pos + 4], "big")
        if n == 0:
            raise ProtocolError("frame length is 0")
        if n > self.max_frame:
            raise ProtocolError(f"frame length {n} is over the maximum of {self.max_frame} bytes")
        if len(buf) - pos - 4 < n:
            self._compact()
            return None
        self._pos = pos + 4 + n
        return bytes(buf[pos + 4:pos + 4 + n])

    def _compact(self) -> None:
        # Drop consumed bytes only when waiting for more, so a read holding
        # many frames costs one copy, not one per frame.
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0
