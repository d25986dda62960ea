"""uvicorn's HTTP protocol with a deadline for the request headers (slowloris): uvicorn times out idle
keep-alive connections, but a client that trickles its headers a byte at a time would hold a
connection for ever. Here the headers of each request must be complete within `seconds`."""

from __future__ import annotations


def header_deadline_protocol(seconds: float):
    """A subclass of uvicorn's httptools protocol, or "auto" when httptools is not installed."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # uvicorn falls back to h11; the body deadline (408) still holds
        return "auto"

    class DeadlineProtocol(HttpToolsProtocol):
        _header_timer = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection gets its own deadline

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

    return DeadlineProtocol
