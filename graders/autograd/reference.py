"""Reference engine for the autograd lab, written against the notebook's own Value class.

The notebook's Value (a locked cell) calls the module-level functions add, mul, power, exp, tanh, sigmoid and
backward by name when its operators run; `operations(Value, as_value)` returns reference versions of those
functions that build nodes of that same class, so a hidden check can swap any of them in.
"""
import math

from graders.numerics import sigmoid_float


def operations(Value, as_value):
    """Reference add, mul, power, exp, tanh, sigmoid and backward for the notebook's Value class."""

    def node(data, parents, op, local_gradients):
        out = Value(data, parents, op)

        def backward_step():
            for parent, local in zip(parents, local_gradients):
                parent.grad += local * out.grad
        out.backward_step = backward_step
        return out

    def add(a, b):
        a, b = as_value(a), as_value(b)
        return node(a.data + b.data, (a, b), "+", (1.0, 1.0))

    def mul(a, b):
        a, b = as_value(a), as_value(b)
        return node(a.data * b.data, (a, b), "*", (b.data, a.data))

    def power(a, k):
        a = as_value(a)
        return node(a.data ** k, (a,), f"**{k}", (k * a.data ** (k - 1),))

    def exp(a):
        a = as_value(a)
        e = math.exp(a.data)
        return node(e, (a,), "exp", (e,))

    def tanh(a):
        a = as_value(a)
        t = math.tanh(a.data)
        return node(t, (a,), "tanh", (1.0 - t * t,))

    def sigmoid(a):
        a = as_value(a)
        s = sigmoid_float(a.data)
        return node(s, (a,), "sigmoid", (s * (1.0 - s),))

    def backward(root):
        order, seen, stack = [], set(), [(root, False)]
        while stack:  # iterative depth-first post-order: deep chains do not hit the recursion limit
            current, expanded = stack.pop()
            if expanded:
                order.append(current)
            elif id(current) not in seen:
                seen.add(id(current))
                stack.append((current, True))
                stack.extend((parent, False) for parent in current.parents)
        root.grad = 1.0
        for current in reversed(order):
            current.backward_step()

    return {"add": add, "mul": mul, "power": power, "exp": exp, "tanh": tanh, "sigmoid": sigmoid,
            "backward": backward}


def train_linear(x_data, y_data, w=1.0, b=-1.0, learning_rate=0.01, epochs=10):
    """Per-sample gradient descent on (w·x + b − y)², in float arithmetic; (epoch mean losses, w, b)."""
    losses = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(x_data, y_data):
            error = w * x + b - y
            total += error * error
            w, b = w - learning_rate * 2.0 * error * x, b - learning_rate * 2.0 * error
        losses.append(total / len(x_data))
    return losses, w, b


def train_quadratic(x_data, y_data, w1=1.0, w2=1.0, learning_rate=0.0012, epochs=100):
    """Per-sample gradient descent on (w2·x² + w1·x − y)²; (epoch mean losses, w1, w2)."""
    losses = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(x_data, y_data):
            error = w2 * x * x + w1 * x - y
            total += error * error
            w1, w2 = w1 - learning_rate * 2.0 * error * x, w2 - learning_rate * 2.0 * error * x * x
        losses.append(total / len(x_data))
    return losses, w1, w2
