"""Length-prefixed JSON frames on a socket: the only way anything leaves the sandbox.

The sandbox side (this module's send and receive) blocks; the grader reads with deadlines and bounds
(graders/grading/executor.py) and checks every frame's shape before using it.
"""

import json
import struct

HEADER = struct.Struct(">I")
MAX_FRAME = 8 * 1024 * 1024  # a cell's outputs are cut to well under this (graders/sandbox/kernel.py)


def frame(message):
    data = json.dumps(message, separators=(",", ":")).encode()
    return HEADER.pack(len(data)) + data


def send(sock, message):
    sock.sendall(frame(message))


def _read_exact(sock, size):
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the channel closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive(sock):
    """The next message (blocking), or EOFError when the other side has gone."""
    (size,) = HEADER.unpack(_read_exact(sock, HEADER.size))
    if size > MAX_FRAME:
        raise ValueError(f"a frame of {size} bytes is over the limit")
    return json.loads(_read_exact(sock, size))
