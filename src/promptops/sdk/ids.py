"""Log record ids: UUIDv7 (RFC 9562), time-ordered.

Records are stored under a unique index on their id; ids that grow with time land on the
index's last page instead of a random one, which keeps ingestion fast as the table grows.
Python 3.11 has no ``uuid.uuid7``, hence this small generator: 48 bits of Unix milliseconds,
the version and variant bits, and 74 random bits.
"""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["uuid7"]


def uuid7() -> str:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits; 74 are used
    value = (ms & (2**48 - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a: 12 bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & (2**62 - 1)  # rand_b: 62 bits
    return str(uuid.UUID(int=value))
