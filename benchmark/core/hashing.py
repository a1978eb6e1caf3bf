"""Stable content hashes of JSON-able values: cache keys, run keys, data hashes."""
from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(value: Any, length: int = 20) -> str:
    blob = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]
