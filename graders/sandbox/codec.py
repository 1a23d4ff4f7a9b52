"""Plain values between the grader and the sandbox, as JSON: what may cross, and nothing else.

A JSON scalar or array stands for itself (None, bool, int, float with NaN/±inf, str, list); a JSON object is
always a one-key tag: {"tuple": [...]}, {"dict": {str: value}}, {"array": {"dtype", "shape", "data"}},
{"rng": state} (a numpy Generator), {"answer": name} (a function the grader answers), {"unsupported": type name}.

`encode` never calls into an object it does not know by its exact type (no __float__, __iter__, __repr__ of a
student's class or subclass): such a value becomes {"unsupported": ...}, a wrong answer with a clear message.
`decode` trusts nothing: any structure it does not expect raises CodecError.
"""

import math

import numpy as np

MAX_DEPTH = 32
MAX_ITEMS = 200_000  # numbers, strings and containers in one value (a frame stays a few MB)
MAX_STRING = 100_000  # characters
MAX_INT_BITS = 256
ARRAY_DTYPES = {"b": "bool", "i": "int64", "u": "int64", "f": "float64"}
NUMPY_SCALARS = {
    np.float64: float,
    np.float32: float,
    np.float16: float,
    np.int64: int,
    np.int32: int,
    np.int16: int,
    np.int8: int,
    np.uint64: int,
    np.uint32: int,
    np.uint16: int,
    np.uint8: int,
    np.bool_: bool,
}


class CodecError(ValueError):
    """A value that is not plain data in this module's sense (only raised by decode)."""


class Unsupported:
    """A value that could not be sent: what it was, for the message a student sees."""

    def __init__(self, what):
        self.what = str(what)[:200]

    def __repr__(self):
        return f"<{self.what}>"

    def __eq__(self, other):
        return type(other) is Unsupported and other.what == self.what

    __hash__ = None


class Answer:
    """An argument that is a function the grader answers (graders/sandbox/runtime.py builds its proxy)."""

    def __init__(self, name, function=None):
        self.name, self.function = name, function


def _type_name(value):
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ not in ("builtins", None) else kind.__qualname__


def encode(value):
    """value as a JSON-able structure; unknown types become {"unsupported": ...}."""
    budget = [MAX_ITEMS]
    return _encode(value, 0, budget, set())


def _encode(value, depth, budget, active):
    budget[0] -= 1
    if budget[0] < 0:
        return {"unsupported": "a value too large to send"}
    kind = type(value)
    if value is None or kind is bool or kind is str and len(value) <= MAX_STRING:
        return value
    if kind is int:
        return value if value.bit_length() <= MAX_INT_BITS else {"unsupported": "an integer too large"}
    if kind is float:
        return value
    if kind in NUMPY_SCALARS:
        return NUMPY_SCALARS[kind](value)
    if kind is np.ndarray:
        return _encode_array(value, budget)
    if kind is np.random.Generator and type(value.bit_generator) is np.random.PCG64:
        return {"rng": value.bit_generator.state}
    if kind is Answer:
        return {"answer": value.name}
    if kind is Unsupported:
        return {"unsupported": value.what}
    if kind in (list, tuple, dict):
        if depth >= MAX_DEPTH or id(value) in active:
            return {"unsupported": f"a {kind.__name__} nested too deeply (or containing itself)"}
        active.add(id(value))
        try:
            if kind is dict:
                if not all(type(key) is str for key in value):
                    return {"unsupported": "a dict whose keys are not all strings"}
                return {"dict": {key: _encode(item, depth + 1, budget, active) for key, item in value.items()}}
            items = [_encode(item, depth + 1, budget, active) for item in value]
            return items if kind is list else {"tuple": items}
        finally:
            active.discard(id(value))
    return {"unsupported": f"a {_type_name(value)} object" if kind is not str else "a str too long to send"}


def _encode_array(array, budget):
    dtype = ARRAY_DTYPES.get(array.dtype.kind)
    if dtype is None:
        return {"unsupported": f"a numpy array of dtype {array.dtype}"}
    budget[0] -= array.size
    if budget[0] < 0:
        return {"unsupported": "an array too large to send"}
    data = array.astype(dtype, copy=False).ravel().tolist()
    return {"array": {"dtype": dtype, "shape": list(array.shape), "data": data}}


def measure(structure):
    """(numbers and containers, largest array dimension, most array axes, longest string) of an encoded value,
    without decoding it."""
    items, largest, axes, longest, stack = 0, 0, 0, 0, [structure]
    while stack:
        item = stack.pop()
        items += 1
        if type(item) is list:
            stack.extend(item)
        elif type(item) is str:
            longest = max(longest, len(item))
        elif type(item) is dict:
            body = item.get("array")
            if type(body) is dict and type(body.get("shape")) is list and type(body.get("data")) is list:
                items += len(body["data"])
                largest = max([largest, *(n for n in body["shape"] if type(n) is int)])
                axes = max(axes, len(body["shape"]))
            else:
                stack.extend(item.values())
    return items, largest, axes, longest


def decode(structure, answer=None):
    """The value a structure stands for; `answer(name)` makes the callable for an {"answer": name} tag."""
    return _decode(structure, 0, answer)


def _decode(item, depth, answer):
    kind = type(item)
    if item is None or kind in (bool, str, float):
        return item
    if kind is int:
        if item.bit_length() > MAX_INT_BITS:
            raise CodecError("an integer too large")
        return item
    if depth >= MAX_DEPTH:
        raise CodecError("nested too deeply")
    if kind is list:
        return [_decode(x, depth + 1, answer) for x in item]
    if kind is not dict or len(item) != 1:
        raise CodecError(f"not a tagged value: {kind.__name__}")
    ((tag, body),) = item.items()
    if tag == "tuple" and type(body) is list:
        return tuple(_decode(x, depth + 1, answer) for x in body)
    if tag == "dict" and type(body) is dict:
        return {key: _decode(x, depth + 1, answer) for key, x in body.items()}
    if tag == "array" and type(body) is dict:
        return _decode_array(body)
    if tag == "rng":
        return _decode_rng(body)
    if tag == "answer" and type(body) is str and answer is not None:
        return answer(body)
    if tag == "unsupported" and type(body) is str:
        return Unsupported(body)
    raise CodecError(f"unknown tag {str(tag)[:40]!r}")


def _decode_array(body):
    if set(body) != {"dtype", "shape", "data"} or body["dtype"] not in ARRAY_DTYPES.values():
        raise CodecError("a malformed array")
    shape, data = body["shape"], body["data"]
    if type(shape) is not list or len(shape) > MAX_DEPTH or not all(type(n) is int and 0 <= n for n in shape):
        raise CodecError("a malformed array shape")
    if type(data) is not list or math.prod(shape) != len(data):
        raise CodecError("an array whose data does not fill its shape")
    allowed = {"bool": (bool,), "int64": (int,), "float64": (float, int)}[body["dtype"]]
    if not all(type(x) in allowed for x in data):
        raise CodecError("an array with elements of another type")
    try:
        return np.array(data, dtype=body["dtype"]).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise CodecError(f"an array that cannot be built: {exc}") from None


def _decode_rng(state):
    try:
        generator = np.random.Generator(np.random.PCG64())
        if type(state) is not dict or state.get("bit_generator") != "PCG64":
            raise ValueError("not a PCG64 state")
        generator.bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise CodecError(f"a malformed random generator state: {exc}") from None
    return generator
