"""Expressions for the autograd checks, traced here into programs the sandbox rebuilds node by node.

`trace(f, x, y)` runs an expression on tracing numbers that decompose every operator exactly as the notebook's
Value class does (subtraction is add and mul by −1, division is mul and power −1, a plain number becomes a leaf),
and records each operation with its value and local derivatives. `evaluate` is the reference backward pass over
a program; `order` answers the sandbox's `backward` stand-in with a topological order of a graph it sends.
"""

import math

from graders.numerics import sigmoid_float

OPERATIONS = {
    "add": lambda a, b: (a + b, [1.0, 1.0]),
    "mul": lambda a, b: (a * b, [b, a]),
    "power": lambda a, k: (a**k, [k * a ** (k - 1)]),
    "exp": lambda a: (math.exp(a), [math.exp(a)]),
    "tanh": lambda a: (math.tanh(a), [1.0 - math.tanh(a) ** 2]),
    "sigmoid": lambda a: (sigmoid_float(a), [sigmoid_float(a) * (1.0 - sigmoid_float(a))]),
}


def operation(name, *numbers):
    """(value, local derivatives) of one node: the grader's answer to the notebook's `name`."""
    numbers = [float(n) for n in numbers]
    return OPERATIONS[name](*numbers)


class Program:
    """Nodes in creation order: {"leaf": value} or {"op", "args", "data", "local"}; args are node indices,
    {"number": v} (a plain number, made a leaf by the operation) or {"exponent": k} (power's k)."""

    def __init__(self):
        self.items, self.values = [], []

    def leaf(self, value):
        self.items.append({"leaf": float(value)})
        self.values.append(float(value))
        return Traced(self, len(self.items) - 1)

    def as_value(self, x):
        return x if isinstance(x, Traced) else self.leaf(x)

    def apply(self, op, *args):
        specs, numbers = [], []
        for position, arg in enumerate(args):
            if isinstance(arg, Traced):
                specs.append(arg.index)
                numbers.append(self.values[arg.index])
            elif op == "power" and position == 1:
                specs.append({"exponent": float(arg)})
                numbers.append(float(arg))
            else:
                specs.append({"number": float(arg)})
                numbers.append(float(arg))
        data, local = operation(op, *numbers)
        self.items.append({"op": op, "args": specs, "data": data, "local": local})
        self.values.append(data)
        return Traced(self, len(self.items) - 1)


class Traced:
    """A number in a traced expression; its operators are the notebook Value class's, call for call."""

    def __init__(self, program, index):
        self.program, self.index = program, index

    def __add__(self, other):
        return self.program.apply("add", self, other)

    def __radd__(self, other):
        return self.program.apply("add", other, self)

    def __mul__(self, other):
        return self.program.apply("mul", self, other)

    def __rmul__(self, other):
        return self.program.apply("mul", other, self)

    def __pow__(self, k):
        return self.program.apply("power", self, k)

    def __neg__(self):
        return self.program.apply("mul", self, -1.0)

    def __sub__(self, other):
        return self.program.apply("add", self, -self.program.as_value(other))

    def __rsub__(self, other):
        return self.program.apply("add", other, -self)

    def __truediv__(self, other):
        return self.program.apply("mul", self, self.program.apply("power", self.program.as_value(other), -1.0))

    def __rtruediv__(self, other):
        return self.program.apply("mul", other, self.program.apply("power", self, -1.0))

    def exp(self):
        return self.program.apply("exp", self)

    def tanh(self):
        return self.program.apply("tanh", self)

    def sigmoid(self):
        return self.program.apply("sigmoid", self)


def trace(expression, *numbers):
    """The program of expression(NODE, *leaves), its leaves holding `numbers`."""
    program = Program()
    leaves = [program.leaf(n) for n in numbers]
    expression(NODE, *leaves)
    return program


class NODE:
    """The functions an expression applies to nodes (f(NODE, x, y)); FLOAT applies the same to plain numbers."""

    exp = staticmethod(lambda v: v.exp())
    tanh = staticmethod(lambda v: v.tanh())
    sigmoid = staticmethod(lambda v: v.sigmoid())


class FLOAT:
    exp = staticmethod(math.exp)
    tanh = staticmethod(math.tanh)
    sigmoid = staticmethod(sigmoid_float)


def evaluate(program):
    """(value of every node, gradient of the last node with respect to every leaf): the reference backward pass."""
    grads = [0.0] * len(program.items)
    grads[-1] = 1.0
    for index in range(len(program.items) - 1, -1, -1):
        item = program.items[index]
        if "leaf" in item:
            continue
        parents = [a for a in item["args"] if type(a) is int or "number" in a]  # power's exponent is no input
        for parent, local in zip(parents, item["local"]):
            if type(parent) is int:
                grads[parent] += local * grads[index]
    leaves = [i for i, item in enumerate(program.items) if "leaf" in item]
    return program.values, [grads[i] for i in leaves]


def order(parents):
    """The backward pass's order for a graph sent as parents[i] (indices), node 0 being the root: children before
    parents, each node once (a reversed depth-first post-order). Raises ValueError for anything else."""
    if type(parents) is not list or not parents or not all(type(p) is list for p in parents):
        raise ValueError("a graph that is not a list of parent lists")
    size = len(parents)
    if not all(type(i) is int and 0 <= i < size for p in parents for i in p):
        raise ValueError("a parent index out of range")
    post, state, stack = [], [0] * size, [(0, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            post.append(node)
            state[node] = 2
        elif state[node] == 0:
            state[node] = 1
            stack.append((node, True))
            stack.extend((p, False) for p in parents[node] if state[p] == 0)
    return {"root_grad": 1.0, "order": post[::-1]}
