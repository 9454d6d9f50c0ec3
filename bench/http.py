"""A small keep-alive HTTP/1.1 client over asyncio streams.

The load generator needs many requests per second from one Python process with little
overhead of its own, so it speaks just enough HTTP/1.1: one request at a time per
connection, ``Content-Length`` or chunked responses, ``Connection: close`` honoured.
"""

import asyncio
import time


class HttpError(Exception):
    """The connection broke or the response could not be read."""


class Connection:
    """One keep-alive connection; callers serialize their requests on it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.reusable = True
        self.idle_since = time.monotonic()

    @classmethod
    async def open(cls, host: str, port: int) -> "Connection":
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            raise HttpError(f"connect: {exc}") from None
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send a complete request (see :func:`build_request`); return (status, body)."""
        try:
            self.writer.write(raw)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status, length, chunked = self._parse_head(head)
            if chunked:
                body = await self._read_chunked()
            elif length is not None:
                body = await self.reader.readexactly(length)
            else:  # no length: the body runs to the end of the connection
                body = await self.reader.read()
                self.reusable = False
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            self.reusable = False
            raise HttpError(type(exc).__name__) from None
        self.idle_since = time.monotonic()
        return status, body

    def _parse_head(self, head: bytes) -> tuple[int, int | None, bool]:
        lines = head.split(b"\r\n")
        try:
            status = int(lines[0].split(b" ", 2)[1])
        except (IndexError, ValueError):
            raise HttpError("malformed status line") from None
        length: int | None = None
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif key == b"connection" and b"close" in value.lower():
                self.reusable = False
        return status, length, chunked

    async def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.reusable = False
        self.writer.close()


def build_request(
    method: str, path: str, *, host: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    """The bytes of one request (built once, sent many times)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
