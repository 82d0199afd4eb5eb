"""Binds the model card and the ONNX file to each other, both ways.

- The card names the file: `onnx.sha256` is the sha256 of the exact ONNX
  bytes written.
- The file names the card: its metadata_props entry `model_card_sha256` is the
  sha256 of the card's canonical content, which is the card without that one
  field `onnx.sha256` (a hash cannot cover a file that contains the hash), as
  RFC 8785 canonical JSON (JCS) in UTF-8.

So an edited card no longer matches the hash inside the ONNX file, and a card
or file swapped for another no longer matches `onnx.sha256`. The service
checks both at load (src/data-plane/model-card-file.ts, whose canonical JSON
must stay byte-identical to this one). The binding catches edits and mix-ups,
not forgery: whoever edits both files can recompute both hashes.
"""

import copy
import hashlib
import json
import math
from decimal import Decimal

CARD_SHA256_KEY = "model_card_sha256"
# Same length as a real sha256, so the ONNX file has its final size before the card is hashed.
PLACEHOLDER_SHA256 = "0" * 64


def _es_number(value):
    """A float as ECMAScript's Number::toString writes it (what JSON.stringify and JCS use)."""
    if not math.isfinite(value):
        raise ValueError("JSON has no %r" % value)
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, as ECMAScript requires.
    shortest = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, shortest.digits))
    k = len(digits)
    n = shortest.exponent + k  # value = 0.digits * 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = "%se%s%d" % (mantissa, "+" if n - 1 >= 0 else "-", abs(n - 1))
    return sign + text


def canonical_json(value):
    """RFC 8785 (JCS): members sorted by UTF-16 code units, no whitespace, ECMAScript numbers."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        if abs(value) > 2 ** 53:
            raise ValueError("%d is not exact as a JSON number in JavaScript" % value)
        return str(value)
    if isinstance(value, float):
        return _es_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: key.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(key, ensure_ascii=False) + ":" + canonical_json(value[key]) for key in keys) + "}"
    raise TypeError("%r (%s) has no canonical JSON form" % (value, type(value).__name__))


def card_content_sha256(card):
    """sha256 of the card's canonical content: the card without onnx.sha256."""
    content = copy.deepcopy(card)
    del content["onnx"]["sha256"]
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def set_metadata(model, key, value):
    """Set one metadata_props entry of an ONNX model in place (it must exist already)."""
    entries = [entry for entry in model.metadata_props if entry.key == key]
    if len(entries) != 1:
        raise ValueError("the model has %d %s entries, expected 1" % (len(entries), key))
    entries[0].value = value
