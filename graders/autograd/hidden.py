"""Hidden checks of the autograd lab; each has the name of the function it grades (see graders/backprop/hidden.py).

Engine pieces are checked on expressions with reused nodes, diamonds and a deep chain, against central finite
differences, with the reference versions of the other pieces swapped in, so a bug costs points in its own cell.
"""
import math
import types

import numpy as np

from graders.autograd import published, reference as ref
from graders.checking import (HARD_CODED, as_float, call_quietly, expect, expect_close, quiet, require_function,
                              substituted)

ENGINE = ("add", "mul", "power", "exp", "tanh", "sigmoid", "backward")
FLOAT = types.SimpleNamespace(exp=math.exp, tanh=math.tanh, sigmoid=ref.sigmoid_float)
NODE = types.SimpleNamespace(exp=lambda v: v.exp(), tanh=lambda v: v.tanh(), sigmoid=lambda v: v.sigmoid())


def _chain(F, x, y):
    out = x
    for _ in range(150):  # 300 nodes deep: a recursive topological sort of depth 300 is still fine
        out = F.tanh(out * 0.9 + y * 0.05)
    return out


def _diamond(a, x, y):
    return (a + x) * (a - y)  # one node a, used by two others


def _shared(t):
    return t * t + t


# (label, f(F, x, y), the pieces it exercises) — x and y are used more than once on purpose.
EXPRESSIONS = [
    ("x + x", lambda F, x, y: x + x, {"add"}),
    ("(x + y) + (x + y)", lambda F, x, y: (x + y) + (x + y) + 3.0, {"add"}),
    ("x * x", lambda F, x, y: x * x, {"mul"}),
    ("x * y * x", lambda F, x, y: x * y * x, {"mul"}),
    ("(x * y) * (x + y)", lambda F, x, y: (x * y) * (x + y), {"mul", "add"}),
    ("x ** 3 + x", lambda F, x, y: 2.0 * x ** 3 + x, {"power", "mul", "add"}),
    ("(x * y) ** 2 / x", lambda F, x, y: (x * y) ** 2 / x, {"power", "mul"}),
    ("x ** -1 - y ** 0.5", lambda F, x, y: x ** -1 - (y * y) ** 0.5, {"power", "add", "mul"}),
    ("exp(x) * exp(x)", lambda F, x, y: F.exp(x) * F.exp(x), {"exp", "mul"}),
    ("exp(x * y) + x", lambda F, x, y: F.exp(x * y) + x, {"exp", "mul", "add"}),
    ("tanh(x) * tanh(x)", lambda F, x, y: F.tanh(x) * F.tanh(x), {"tanh", "mul"}),
    ("tanh(tanh(x * y))", lambda F, x, y: F.tanh(F.tanh(x * y)) * y, {"tanh", "mul"}),
    ("sigmoid(x) * x", lambda F, x, y: F.sigmoid(x) * x, {"sigmoid", "mul"}),
    ("sigmoid(-(x * y)) + sigmoid(y)", lambda F, x, y: F.sigmoid(-(x * y)) + F.sigmoid(y), {"sigmoid", "mul", "add"}),
    ("diamond: a = x * y; (a + x) * (a - y)", lambda F, x, y: _diamond(x * y, x, y), {"mul", "add"}),
    ("shared node: t = tanh(x * y); t * t + t", lambda F, x, y: _shared(F.tanh(x * y)), {"tanh", "mul", "add"}),
    ("a 300-node chain of tanh", _chain, {"tanh", "mul", "add"}),
]
POINTS = [(0.7, -1.3), (-0.4, 0.9), (1.6, 0.35)]
HINTS = {
    "add": "d(a + b)/da = 1 and d(a + b)/db = 1, each times out.grad",
    "mul": "d(a·b)/da = b, d(a·b)/db = a, each times out.grad",
    "power": "d(a^k)/da = k·a^(k−1), times out.grad",
    "exp": "d(e^a)/da = e^a, times out.grad",
    "tanh": "d tanh(a)/da = 1 − tanh(a)², times out.grad",
    "sigmoid": "dσ(a)/da = σ(a)(1 − σ(a)), times out.grad",
    "backward": "visit each node once, children before parents (a topological order), set root.grad = 1, then call "
                "backward_step from the root back to the inputs",
}
ACCUMULATE = "use += in backward_step (a node can be an input twice, as in x * x), and multiply by out.grad"


def _engine(namespace, keep):
    """The notebook's engine with every piece but `keep` replaced by the reference."""
    Value, as_value = namespace.get("Value"), namespace.get("as_value")
    expect(Value is not None and as_value is not None, "the Value cell has not run; run the notebook from the top")
    return {k: v for k, v in ref.operations(Value, as_value).items() if k != keep}, Value


def _numeric_gradient(f, x, y, h=1e-6):
    return ((f(FLOAT, x + h, y) - f(FLOAT, x - h, y)) / (2 * h), (f(FLOAT, x, y + h) - f(FLOAT, x, y - h)) / (2 * h))


def _check_piece(fn, name):
    require_function(fn, name)
    replacements, Value = _engine(fn.__globals__, keep=name)
    backward = fn if name == "backward" else replacements["backward"]
    with substituted(fn, **replacements):
        for label, f, uses in EXPRESSIONS:
            if name != "backward" and name not in uses:
                continue
            for x0, y0 in POINTS:
                x, y = Value(x0), Value(y0)
                try:
                    with quiet():
                        out = f(NODE, x, y)
                        backward(out)
                except Exception as exc:
                    raise AssertionError(f"{name}: {label} at x = {x0}, y = {y0} raised {type(exc).__name__}: {exc}") from None
                expect(isinstance(out, Value), f"{name}: {label} did not give a Value node but {type(out).__name__}")
                expect_close(f"{name}: value of {label} at x = {x0}, y = {y0}", out.data, f(FLOAT, x0, y0),
                             rtol=1e-12, hint=HINTS[name])
                if name == "backward":
                    expect(out.grad == 1.0, f"backward: the root's grad must be 1.0 after backward, got {out.grad}")
                expected = _numeric_gradient(f, x0, y0)
                for var, got, want in (("x", x.grad, expected[0]), ("y", y.grad, expected[1])):
                    expect_close(f"{name}: d({label})/d{var} at x = {x0}, y = {y0}", got, want, rtol=1e-6, atol=1e-8,
                                 hint=HINTS[name] if name == "backward" else f"{HINTS[name]}; {ACCUMULATE}")


def add(fn):
    """add: values and gradients of sums, with reused nodes."""
    _check_piece(fn, "add")


def mul(fn):
    """mul: values and gradients of products, x * x included."""
    _check_piece(fn, "mul")


def power(fn):
    """power: a ** k for integer, negative and fractional k (division is a ** -1)."""
    _check_piece(fn, "power")


def exp(fn):
    """exp: values and gradients through e^a."""
    _check_piece(fn, "exp")


def tanh(fn):
    """tanh: values and gradients, including a 300-node chain."""
    _check_piece(fn, "tanh")


def sigmoid(fn):
    """sigmoid: values and gradients, and no overflow at ±800."""
    _check_piece(fn, "sigmoid")
    replacements, Value = _engine(fn.__globals__, keep="sigmoid")
    with substituted(fn, **replacements):
        for z in (-800.0, 800.0):
            try:
                node = call_quietly(fn, Value(z))
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n  hint: for z < 0 use e^z / (1 + e^z), so exp never overflows") from None
            expect_close(f"sigmoid({z})", node.data, ref.sigmoid_float(z), rtol=1e-12)


def backward(fn):
    """backward: topological order, each node once, on every expression (diamonds, reuse, a deep chain)."""
    _check_piece(fn, "backward")


def _with_engine(fn):
    """fn run on the reference engine: the exercises are graded apart from the engine pieces."""
    replacements, _ = _engine(fn.__globals__, keep=None)
    return substituted(fn, **replacements)


def derivative_exercises(fn):
    """derivative_exercises: 7, 4 and 1 at the seed's points; the right derivatives at other points too."""
    require_function(fn, "derivative_exercises")
    with _with_engine(fn):
        for x, u, v in ((1.0, 1.0, 2.0), (0.5, -2.0, 3.0), (-1.5, 0.25, -1.0)):
            got = call_quietly(fn, x, u, v)
            expect(isinstance(got, dict) and set(got) >= set(published.POLYNOMIAL),
                   f"derivative_exercises must return a dict with keys {sorted(published.POLYNOMIAL)}")
            expected = {"dy/dx": 6 * x * x + 1, "dy/du": v + 2 * u, "dy/dv": u}
            if (x, u, v) != (1.0, 1.0, 2.0) and all(got[k] == published.POLYNOMIAL[k] for k in expected):
                raise AssertionError(f"{HARD_CODED} derivative_exercises returns 7, 4, 1 at x={x}, u={u}, v={v} too")
            for key, want in expected.items():
                expect_close(f"derivative_exercises(x={x}, u={u}, v={v})['{key}']", as_float(key, got[key]), want,
                             rtol=1e-12, hint="build y with Value nodes, call y.backward(), read x.grad, u.grad, v.grad")


def _check_training(fn, name, reference, data, start, published_curve, other_start, hint):
    require_function(fn, name)
    with _with_engine(fn):
        result = call_quietly(fn, *data, *start.values())
        expect(isinstance(result, tuple) and len(result) == 3, f"{name} must return (epoch_losses, first, second)")
        losses, first, second = result
        expected_losses, *expected_weights = reference(*data, *start.values())
        expect(len(losses) == start["epochs"], f"{name} returned {len(losses)} epoch losses for {start['epochs']} epochs")
        expect_close(f"{name}: epoch 1 loss (published {published_curve['first_loss']})", as_float("loss", losses[0]),
                     published_curve["first_loss"], rtol=published.SEED_RTOL, hint=hint)
        expect_close(f"{name}: last epoch loss (published {published_curve['last_loss']})", as_float("loss", losses[-1]),
                     published_curve["last_loss"], rtol=published.SEED_RTOL, hint=hint)
        expect_close(f"{name}: every epoch loss", [as_float("loss", v) for v in losses], expected_losses, hint=hint)
        expect_close(f"{name}: final parameters", [as_float("weight", first), as_float("weight", second)],
                     expected_weights, hint=hint)
        x_other = list(np.linspace(-1.0, 2.0, 4))
        y_other = [0.5 - 1.5 * x + 0.75 * x * x for x in x_other]
        got = call_quietly(fn, x_other, y_other, *other_start)
        expect_close(f"{name} on other data and settings: epoch losses", [as_float("loss", v) for v in got[0]],
                     reference(x_other, y_other, *other_start)[0], hint=hint)


def train_linear(fn):
    """train_linear: the seed's losses, w and prediction, and the reference on other data and settings."""
    _check_training(fn, "train_linear", ref.train_linear, published.LINEAR_DATA, published.LINEAR_START,
                    published.LINEAR, (0.3, 0.2, 0.05, 4),
                    hint="per sample: ŷ = w·x + b, loss = (ŷ − y)², backward, then w -= lr·w.grad and b -= lr·b.grad "
                         "with fresh gradients each step; the epoch loss is the mean of the per-sample losses")


def train_quadratic(fn):
    """train_quadratic: the seed's losses, and the reference on other data and settings."""
    _check_training(fn, "train_quadratic", ref.train_quadratic, published.QUADRATIC_DATA, published.QUADRATIC_START,
                    published.QUADRATIC, (0.4, -0.3, 0.01, 5),
                    hint="ŷ = w2·x² + w1·x (the quadratic model, not the linear one); per-sample updates as before")
