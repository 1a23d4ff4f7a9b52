"""Length-prefixed JSON messages over pipes: unbuffered, so a forked child can share the server's pipe."""
import json
import os
import struct

HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024


def send(fd, message):
    data = json.dumps(message).encode()
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd, size):
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def decode(payload):
    return json.loads(payload)


def receive(fd):
    """The next message, or EOFError when the other side has gone."""
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size))
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes is over the limit")
    return decode(_read_exact(fd, size))
