"""One framed connection to the runtime: splits incoming bytes into messages
and batches outgoing frames."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, Optional

from .codec import DEFAULT_MAX_FRAME, FrameDecoder, FrameTooLargeError, ProtocolError, decode, encode


class Connection(asyncio.Protocol):
    """Callbacks: on_message(msg) per decoded message; on_protocol_error(err)
    once for bytes that break the protocol (nothing is read after it);
    on_internal_error(err) if on_message raises anything else; on_close() once
    when the runtime is gone (EOF or socket error) or after close().

    Not thread-safe: use it from the event loop's thread only.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, *, max_frame: int = DEFAULT_MAX_FRAME,
                 on_message: Callable[[dict], None],
                 on_protocol_error: Callable[[ProtocolError], None],
                 on_internal_error: Callable[[BaseException], None],
                 on_close: Callable[[], None]) -> None:
        self.loop = loop
        self.max_frame = max_frame
        self.transport: Optional[asyncio.Transport] = None
        self._decoder = FrameDecoder(max_frame)
        self._on_message = on_message
        self._on_protocol_error = on_protocol_error
        self._on_internal_error = on_internal_error
        self._on_close = on_close
        self.closed = False
        self._failed = False
        # Frames waiting for the next flush: results finishing in the same
        # turn of the event loop leave in one write instead of one each.
        self._out: List[bytes] = []
        self._flush_scheduled = False

    # -- asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._failed:
            return
        self._decoder.feed(data)
        try:
            while not self._failed:
                payload = self._decoder.next()
                if payload is None:
                    break
                self._on_message(decode(payload))
        except ProtocolError as err:
            # Nothing after a bad frame can be trusted.
            self._failed = True
            self._on_protocol_error(err)
        except Exception as err:
            # An exception from our own code leaves no state worth serving from.
            self._failed = True
            self._on_internal_error(err)

    def eof_received(self) -> Optional[bool]:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if not self.closed:
            self.closed = True
            self._on_close()

    # -- sending ------------------------------------------------------------

    def send(self, msg: Any) -> None:
        """Queues one message. Raises (and queues nothing) if it cannot be
        encoded or is over the frame limit; on a closed connection it does
        nothing."""
        if self.closed:
            return
        payload = encode(msg)
        if len(payload) > self.max_frame:
            raise FrameTooLargeError(len(payload), self.max_frame)
        self._out.append(len(payload).to_bytes(4, "big"))
        self._out.append(payload)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            # call_soon runs after every callback already queued for this
            # turn, so handlers resumed in the same turn share the write.
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        if not self._out or self.closed or self.transport is None:
            return
        data = b"".join(self._out)
        self._out.clear()
        self.transport.write(data)

    def close(self) -> None:
        """Flushes and closes; the transport writes what it holds first, then
        on_close runs."""
        self.flush()
        if self.transport is not None:
            self.transport.close()
