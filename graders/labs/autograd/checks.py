"""Hidden checks of the autograd lab, judged outside the student's process (see graders/judging.py).

Engine pieces are checked on expressions with reused nodes, diamonds and a deep chain. The grader traces each
expression (graders/labs/autograd/expressions.py), and the sandbox rebuilds it with the notebook's Value class: nodes
of the graded operation by the student's function, every other node given with its value and local derivatives,
the backward order answered by the grader unless `backward` is the one graded. Values and gradients come back
and are compared here with the reference pass, so a bug costs points in its own cell only.
"""

from graders.labs.autograd import expressions, published, reference as ref
from graders.labs.autograd.expressions import FLOAT
from graders.judging import (
    HARD_CODED,
    NOT_OWN,
    Fail,
    ProtocolError,
    as_float,
    crash_hint,
    describe_error,
    expect,
    expect_close,
    same,
)

GRADED = (
    "add",
    "mul",
    "power",
    "exp",
    "tanh",
    "sigmoid",
    "backward",
    "derivative_exercises",
    "train_linear",
    "train_quadratic",
)
OPERATIONS = ("add", "mul", "power", "exp", "tanh", "sigmoid")
EXERCISE_EPOCHS = {"train_linear": 5, "train_quadratic": 5}  # each operation is a call answered by the grader


def _chain(F, x, y):
    out = x
    for _ in range(50):  # 200 nodes, 150 levels deep: a recursive topological sort (two frames a level, say) stays
        # well inside Python's default limit of 1000 frames; the task text asks for no particular depth
        out = F.tanh(out * 0.9 + y * 0.05)
    return out


def _diamond(a, x, y):
    return (a + x) * (a - y)  # one node a, used by two others


def _shared(t):
    return t * t + t


def _shared_first_reached_short(t):
    return t + t * t  # t is reached from the root directly and through t * t: breadth-first order fails here


# (label, f(F, x, y), the pieces it exercises) — x and y are used more than once on purpose.
EXPRESSIONS = [
    ("x + x", lambda F, x, y: x + x, {"add"}),
    ("(x + y) + (x + y)", lambda F, x, y: (x + y) + (x + y) + 3.0, {"add"}),
    ("x * x", lambda F, x, y: x * x, {"mul"}),
    ("x * y * x", lambda F, x, y: x * y * x, {"mul"}),
    ("(x * y) * (x + y)", lambda F, x, y: (x * y) * (x + y), {"mul", "add"}),
    ("x ** 3 + x", lambda F, x, y: 2.0 * x**3 + x, {"power", "mul", "add"}),
    ("(x * y) ** 2 / x", lambda F, x, y: (x * y) ** 2 / x, {"power", "mul"}),
    ("x ** -1 - y ** 0.5", lambda F, x, y: x**-1 - (y * y) ** 0.5, {"power", "add", "mul"}),
    ("exp(x) * exp(x)", lambda F, x, y: F.exp(x) * F.exp(x), {"exp", "mul"}),
    ("exp(x * y) + x", lambda F, x, y: F.exp(x * y) + x, {"exp", "mul", "add"}),
    ("tanh(x) * tanh(x)", lambda F, x, y: F.tanh(x) * F.tanh(x), {"tanh", "mul"}),
    ("tanh(tanh(x * y))", lambda F, x, y: F.tanh(F.tanh(x * y)) * y, {"tanh", "mul"}),
    ("sigmoid(x) * x", lambda F, x, y: F.sigmoid(x) * x, {"sigmoid", "mul"}),
    ("sigmoid(-(x * y)) + sigmoid(y)", lambda F, x, y: F.sigmoid(-(x * y)) + F.sigmoid(y), {"sigmoid", "mul", "add"}),
    ("diamond: a = x * y; (a + x) * (a - y)", lambda F, x, y: _diamond(x * y, x, y), {"mul", "add"}),
    ("shared node: t = tanh(x * y); t * t + t", lambda F, x, y: _shared(F.tanh(x * y)), {"tanh", "mul", "add"}),
    (
        "shared node reached first by the short path: t = x * y; t + t * t",
        lambda F, x, y: _shared_first_reached_short(x * y),
        {"mul", "add"},
    ),
    ("a 200-node chain of tanh", _chain, {"tanh", "mul", "add"}),
]
# Every hint a student reads, hidden or visible (the visible checks hold a copy: graders/visible.py).
HINTS = {
    "add": "d(a + b)/da = 1 and d(a + b)/db = 1, each times out.grad",
    "mul": "d(a·b)/da = b, d(a·b)/db = a, each times out.grad",
    "power": "d(a^k)/da = k·a^(k−1), times out.grad",
    "exp": "d(e^a)/da = e^a, times out.grad",
    "tanh": "d tanh(a)/da = 1 − tanh(a)², times out.grad",
    "sigmoid": "dσ(a)/da = σ(a)(1 − σ(a)), times out.grad",
    "accumulate": "use += in backward_step (a node can be an input twice, as in x * x), and multiply by out.grad",
    "sigmoid overflow": "for a < 0 use e^a / (1 + e^a), so exp never overflows",
    "backward": "visit each node once, children before parents (a topological order: depth-first, a node after its "
    "parents), set root.grad = 1, then call backward_step from the root back to the inputs",
    "backward root": "set root.grad = 1.0 (it may hold a value from before: set it, do not add to it)",
    "backward breadth first": "a node reached by a short and a long path must wait for both: breadth-first order is not "
    "a topological order; add each node after its parents (depth-first), then reverse",
    "derivatives engine": "compute with Value nodes and backward: y = 2 * x ** 3 + x with x = Value(x), then "
    "y.backward() and read x.grad (likewise for u and v)",
    "train_linear": "per sample: ŷ = w·x + b, loss = (ŷ − y)², backward, then w -= lr·w.grad and b -= lr·b.grad with "
    "fresh gradients each step; the epoch loss is the mean of the per-sample losses",
    "train_quadratic": "ŷ = w2·x² + w1·x (the quadratic model, not the linear one); per-sample updates as before",
    "plain numbers": "return plain numbers: the losses as a list of floats (loss.data), the weights as the floats you "
    "updated, not Value nodes",
}


def _answers(graded):
    """The grader's stand-ins for every engine piece but `graded`."""
    answers = {
        name: (lambda *numbers, name=name: expressions.operation(name, *numbers))
        for name in OPERATIONS
        if name != graded
    }
    if graded != "backward":
        answers["backward"] = expressions.order
    return answers


def _points(rng):
    """Two (x, y) points with |x|, |y| in [0.3, 1.6] (x is divided by, y square-rooted after squaring)."""
    magnitudes, signs = rng.uniform(0.3, 1.6, (2, 2)), rng.choice([-1.0, 1.0], (2, 2))
    return [tuple(float(v) for v in row) for row in magnitudes * signs]


def _build(student, name, program, label=None):
    # backward is handed a root that holds an earlier gradient: "set root.grad = 1.0" means set, not add
    result = student.probe(
        "expression", program.items, name, 0.5 if name == "backward" else None, answers=_answers(name)
    )
    try:
        if "raised" in result:
            error = result["raised"]  # a common crash's own hint first, else the piece's formula
            raise Fail(
                describe_error(
                    f"{label or name}, at node {result['step'] + 1} of the graph",
                    error,
                    crash_hint(f"{error['type']}: {error['message']}") or HINTS.get(name, ""),
                )
            )
        if "not_a_node" in result:
            raise Fail(f"{name} did not return a Value node but {result['not_a_node'].get('type', '?')}")
        if "step_not_own" in result:
            raise Fail(
                f"{name}: the node's backward_step was not written in the notebook (it comes from "
                f"{result['step_not_own'].get('module')!r}); write it in the cell",
                NOT_OWN,
            )
        values, grads = result["values"], result["grads"]
        if type(values) is not list or type(grads) is not list:
            raise TypeError("values and grads must be lists")
        return values, grads, result["root_grad"]
    except (KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"the expression probe's result is malformed ({exc})") from None


def _check_piece(student, rng, name):
    points = _points(rng)
    for label, f, uses in EXPRESSIONS:
        if name != "backward" and name not in uses:
            continue
        for x0, y0 in points[:1] if f is _chain else points:  # the long chain once: it is about depth
            program = expressions.trace(f, x0, y0)
            values, grads, root_grad = _build(student, name, program)
            expected_values, expected_grads = expressions.evaluate(program)
            expect(
                len(values) == len(expected_values) and len(grads) == len(expected_grads),
                f"{name}: {label} did not build the expected graph",
            )
            expect_close(
                f"{name}: value of {label} at x = {x0:.4g}, y = {y0:.4g}",
                as_float("value", values[-1]),
                f(FLOAT, x0, y0),
                rtol=1e-12,
                hint=HINTS[name],
            )
            expect_close(f"{name}: node values of {label}", values, expected_values, rtol=1e-12, hint=HINTS[name])
            if name == "backward":
                expect(
                    type(root_grad) in (int, float) and root_grad == 1.0,
                    f"backward: the root's grad must be 1.0 after backward (it held 0.5 "
                    f"before), got {root_grad}\n  hint: {HINTS['backward root']}",
                )
            hint = f"{HINTS[name]}; {HINTS['accumulate']}"
            if name == "backward":
                hint = HINTS["backward breadth first"] if "short path" in label else HINTS["backward"]
            for var, got, want in (("x", grads[0], expected_grads[0]), ("y", grads[1], expected_grads[1])):
                expect_close(
                    f"{name}: d({label})/d{var} at x = {x0:.4g}, y = {y0:.4g}",
                    got,
                    want,
                    rtol=1e-9,
                    atol=1e-12,
                    hint=hint,
                )


def add(student, rng):
    """add: values and gradients of sums, with reused nodes."""
    _check_piece(student, rng, "add")


def mul(student, rng):
    """mul: values and gradients of products, x * x included."""
    _check_piece(student, rng, "mul")


def power(student, rng):
    """power: a ** k for integer, negative and fractional k (division is a ** -1)."""
    _check_piece(student, rng, "power")


def exp(student, rng):
    """exp: values and gradients through e^a."""
    _check_piece(student, rng, "exp")


def tanh(student, rng):
    """tanh: values and gradients, including a 200-node chain."""
    _check_piece(student, rng, "tanh")


def sigmoid(student, rng):
    """sigmoid: values and gradients, and no overflow at ±800."""
    _check_piece(student, rng, "sigmoid")
    for z in (-800.0, 800.0):
        program = expressions.trace(lambda F, x: F.sigmoid(x), z)
        values, _, _ = _build(student, "sigmoid", program, f"sigmoid(Value({z}))")  # a crash has its own hint
        expect_close(
            f"sigmoid({z})", as_float("value", values[-1]), FLOAT.sigmoid(z), rtol=1e-12, hint=HINTS["sigmoid overflow"]
        )


def backward(student, rng):
    """backward: topological order, each node once, on every expression (diamonds, reuse, a deep chain)."""
    _check_piece(student, rng, "backward")


def _exercise(student, name, *args, backward_calls=None):
    answers = _answers(None)
    if backward_calls is not None:
        answers["backward"] = lambda parents: backward_calls.append(len(parents)) or expressions.order(parents)
    return student.call(name, *args, answers=answers).returned(f"{name}{tuple(args)}")


def derivative_exercises(student, rng):
    """derivative_exercises: 7, 4 and 1 at the seed's points; the right derivatives at other points too."""
    points = [(1.0, 1.0, 2.0)] + [tuple(float(v) for v in rng.uniform(-2.0, 2.0, 3)) for _ in range(2)]
    engine = []
    for x, u, v in points:
        calls = []
        got = _exercise(student, "derivative_exercises", x, u, v, backward_calls=calls)
        expect(
            type(got) is dict and set(got) >= set(published.POLYNOMIAL),
            f"derivative_exercises must return a dict with keys {sorted(published.POLYNOMIAL)}",
        )
        expected = {"dy/dx": 6 * x * x + 1, "dy/du": v + 2 * u, "dy/dv": u}
        if (x, u, v) != (1.0, 1.0, 2.0) and all(same(got[k], published.POLYNOMIAL[k]) for k in expected):
            raise Fail(f"derivative_exercises returns 7, 4, 1 at x={x:.4g}, u={u:.4g}, v={v:.4g} too", HARD_CODED)
        for key, want in expected.items():
            expect_close(
                f"derivative_exercises(x={x:.4g}, u={u:.4g}, v={v:.4g})['{key}']",
                as_float(key, got[key]),
                want,
                rtol=1e-12,
                hint=HINTS["derivatives engine"],
            )
        engine.append((f"x={x:.4g}, u={u:.4g}, v={v:.4g}", len(calls)))
    label, runs = min(engine, key=lambda item: item[1])
    expect(
        runs >= 2,
        f"derivative_exercises({label}) ran backward {runs} times for two expressions\n  hint: "
        f"{HINTS['derivatives engine']}",
    )


def _plain(label, value):
    try:
        return as_float(label, value)
    except Fail as failure:
        raise Fail(f"{failure}\n  hint: {HINTS['plain numbers']}") from None


def _check_training(student, rng, name, reference, data, start, published_curve, hint):
    epochs = EXERCISE_EPOCHS[name]
    settings = {**start, "epochs": epochs}
    result = _exercise(student, name, *data, *settings.values())
    expect(type(result) is tuple and len(result) == 3, f"{name} must return (epoch_losses, first, second)")
    losses, first, second = result
    expected_losses, *expected_weights = reference(*data, *settings.values())
    expect(
        type(losses) in (list, tuple),
        f"{name} must return its epoch losses as a list, got {type(losses).__name__}\n  hint: {HINTS['plain numbers']}",
    )
    numbers = [_plain(f"{name}: an epoch loss", v) for v in losses]
    expect(len(numbers) == epochs, f"{name} returned {len(numbers)} epoch losses for {epochs} epochs")
    expect_close(
        f"{name}: epoch 1 loss (published {published_curve['first_loss']})",
        numbers[0],
        published_curve["first_loss"],
        rtol=published.SEED_RTOL,
        hint=hint,
    )
    expect_close(
        f"{name}: every epoch loss, {epochs} epochs at the lab's settings", numbers, expected_losses, hint=hint
    )
    expect_close(
        f"{name}: final parameters",
        [_plain(f"{name}: a weight", weight) for weight in (first, second)],
        expected_weights,
        hint=hint,
    )
    x_other = sorted(float(v) for v in rng.uniform(-1.0, 2.0, 4))
    coefficients = rng.uniform(-1.5, 1.5, 3)
    y_other = [coefficients[0] + coefficients[1] * x + coefficients[2] * x * x for x in x_other]
    other = (float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.5, 0.5)), 0.05, 4)
    got = _exercise(student, name, x_other, y_other, *other)
    expect(type(got) is tuple and len(got) == 3, f"{name} must return (epoch_losses, first, second)")
    expect(type(got[0]) in (list, tuple), f"{name} must return its epoch losses as a list")
    expect_close(
        f"{name} on other data and settings: epoch losses",
        [as_float("loss", v) for v in got[0]],
        reference(x_other, y_other, *other)[0],
        hint=hint,
    )


def train_linear(student, rng):
    """train_linear: the seed's losses, w and prediction, and the reference on other data and settings."""
    _check_training(
        student,
        rng,
        "train_linear",
        ref.train_linear,
        published.LINEAR_DATA,
        published.LINEAR_START,
        published.LINEAR,
        hint=HINTS["train_linear"],
    )


def train_quadratic(student, rng):
    """train_quadratic: the seed's losses, and the reference on other data and settings."""
    _check_training(
        student,
        rng,
        "train_quadratic",
        ref.train_quadratic,
        published.QUADRATIC_DATA,
        published.QUADRATIC_START,
        published.QUADRATIC,
        hint=HINTS["train_quadratic"],
    )
