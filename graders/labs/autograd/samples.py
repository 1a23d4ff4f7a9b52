"""Sample class of the autograd lab: right answers written differently, the classic engine bugs, a cheat."""

from graders.labs.autograd.checks import GRADED
from graders.labs.sample import Sample, reference_answers, replaced

REFERENCE = reference_answers("autograd")


def _with(**cells):
    return {**REFERENCE, **cells}


ALTERNATIVE = {
    "mul": '''def mul(a, b):
    """a · b, local derivatives kept in a tuple."""
    a, b = as_value(a), as_value(b)
    out = Value(a.data * b.data, (a, b), "*")
    local = (b.data, a.data)

    def backward_step():
        for parent, derivative in zip((a, b), local):
            parent.grad = parent.grad + derivative * out.grad
    out.backward_step = backward_step
    return out''',
    "sigmoid": '''def sigmoid(a):
    """Through tanh: sigma(a) = (1 + tanh(a / 2)) / 2, stable everywhere."""
    a = as_value(a)
    out = Value(0.5 * (1.0 + math.tanh(0.5 * a.data)), (a,), "sigmoid")

    def backward_step():
        a.grad += out.data * (1.0 - out.data) * out.grad
    out.backward_step = backward_step
    return out''',
    "backward": '''def backward(root):
    """Kahn's algorithm on the reversed graph: a node runs once all nodes made from it have run."""
    users, nodes, stack = {}, {}, [root]
    while stack:
        node = stack.pop()
        if id(node) in nodes:
            continue
        nodes[id(node)] = node
        for parent in node.parents:
            users[id(parent)] = users.get(id(parent), 0) + 1
            stack.append(parent)
    root.grad = 1.0
    ready = [root]
    while ready:
        node = ready.pop()
        node.backward_step()
        for parent in node.parents:
            users[id(parent)] -= 1
            if users[id(parent)] == 0:
                ready.append(parent)''',
    "train_linear": '''def train_linear(x_data, y_data, w=1.0, b=-1.0, learning_rate=0.01, epochs=10):
    """The same nodes for w and b all along, gradients reset by hand after each step (like zero_())."""
    wv, bv = Value(w), Value(b)
    history = []
    for _ in range(epochs):
        losses = []
        for x, y in zip(x_data, y_data):
            loss = (x * wv + bv - y) ** 2
            loss.backward()
            wv.data -= learning_rate * wv.grad
            bv.data -= learning_rate * bv.grad
            wv.grad = bv.grad = 0.0
            losses.append(loss.data)
        history.append(sum(losses) / len(losses))
    return history, wv.data, bv.data''',
}

BUGS = {
    "bug-mul-assigns-instead-of-adding": ("mul", replaced(REFERENCE["mul"], "a.grad += b.data", "a.grad = b.data")),
    "bug-tanh-forgets-out-grad": ("tanh", replaced(REFERENCE["tanh"], " * out.grad", "")),
    "bug-sigmoid-overflows": (
        "sigmoid",
        '''def sigmoid(a):
    """The textbook formula: math.exp overflows for very negative a."""
    a = as_value(a)
    out = Value(1.0 / (1.0 + math.exp(-a.data)), (a,), "sigmoid")

    def backward_step():
        a.grad += out.data * (1.0 - out.data) * out.grad
    out.backward_step = backward_step
    return out''',
    ),
    "bug-backward-inputs-first": (
        "backward",
        replaced(REFERENCE["backward"], "for node in reversed(order):", "for node in order:"),
    ),
    "bug-backward-visits-shared-nodes-twice": (
        "backward",
        replaced(
            REFERENCE["backward"],
            "        if id(node) not in seen:\n            seen.add(id(node))\n",
            "        if True:\n",
        ),
    ),
    "bug-linear-gradients-pile-up": (
        "train_linear",
        ALTERNATIVE["train_linear"].replace("            wv.grad = bv.grad = 0.0\n", ""),
    ),
    "bug-quadratic-uses-linear-model": (
        "train_quadratic",
        replaced(REFERENCE["train_quadratic"], "(w2v * x ** 2 + w1v * x - y)", "(w2v * x + w1v - y)"),
    ),
}

# micrograd's own backward, as students copy it: a recursive build_topo, root.grad = 1 (an int); and a recursion
# through a generator, two frames a level.
MICROGRAD = {
    "backward": '''def backward(root):
    """micrograd's build_topo."""
    topo = []
    visited = set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v.parents:
                build_topo(child)
            topo.append(v)
    build_topo(root)
    root.grad = 1
    for v in reversed(topo):
        v.backward_step()''',
}
GENERATOR_DFS = {
    "backward": '''def backward(root):
    """Depth-first through a generator: any() over the parents."""
    order, seen = [], set()

    def visit(node):
        if node in seen:
            return False
        seen.add(node)
        any(visit(parent) for parent in node.parents)
        order.append(node)
        return False
    visit(root)
    root.grad = 1.0
    for node in reversed(order):
        node.backward_step()''',
}

# What the task text pins, broken one sentence at a time (each costs its own cell).
PINNED = {
    "bug-backward-breadth-first": (
        "backward",
        "a topological order: depth-first search, adding a node after its parents",
        '''def backward(root):
    """Breadth-first from the root: each node once, but a node may run before all the nodes that use it."""
    order, seen, queue = [], {id(root)}, [root]
    while queue:
        node = queue.pop(0)
        order.append(node)
        for parent in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
    root.grad = 1.0
    for node in order:
        node.backward_step()''',
    ),
    "bug-backward-adds-one-to-root": (
        "backward",
        "set root.grad = 1.0",
        replaced(REFERENCE["backward"], "root.grad = 1.0", "root.grad += 1.0"),
    ),
    "bug-derivatives-without-the-engine": (
        "derivative_exercises",
        "Compute with Value nodes and backward",
        '''def derivative_exercises(x=1.0, u=1.0, v=2.0):
    """The derivatives worked out by hand: right numbers, no Value node, no backward."""
    return {"dy/dx": 6 * x * x + 1, "dy/du": v + 2 * u, "dy/dv": u}''',
    ),
    "bug-linear-returns-value-nodes": (
        "train_linear",
        "Return (epoch_losses, w, b) with plain numbers.",
        replaced(
            REFERENCE["train_linear"],
            "    return epoch_losses, w, b\n",
            "    return epoch_losses, Value(w), Value(b)\n",
        ),
    ),
}

SAMPLES = [
    Sample("reference-solution", "the instructor's solution", REFERENCE),
    Sample(
        "correct-alternative",
        "accumulating without +=, sigmoid via tanh, Kahn's order, reused parameter nodes",
        _with(**ALTERNATIVE),
    ),
    Sample("correct-micrograd", "micrograd's recursive build_topo with root.grad = 1", _with(**MICROGRAD)),
    Sample(
        "correct-generator-recursion",
        "a depth-first order through a generator, two frames a level",
        _with(**GENERATOR_DFS),
    ),
    *[
        Sample(student, f"a classic bug in {cell}", _with(**{cell: source}), loses=(f"test_{cell}",))
        for student, (cell, source) in BUGS.items()
    ],
    *[
        Sample(student, f"breaks what the text pins: {pinned}", _with(**{cell: source}), loses=(f"test_{cell}",))
        for student, (cell, pinned, source) in PINNED.items()
    ],
    Sample(
        "cheat-hardcoded-derivatives",
        "returns 7, 4 and 1 whatever the point",
        _with(
            derivative_exercises='def derivative_exercises(x=1.0, u=1.0, v=2.0):\n    """Cheat."""\n'
            '    return {"dy/dx": 7.0, "dy/du": 4.0, "dy/dv": 1.0}'
        ),
        loses=("test_derivative_exercises",),
    ),
    Sample(
        "unanswered",
        "the release as handed out",
        loses=tuple(f"test_{name}" for name in GRADED),
    ),
]
