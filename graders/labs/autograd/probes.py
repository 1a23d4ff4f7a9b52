"""What the autograd lab's checks run inside the sandbox: graphs built from the grader's description, and the
stand-ins through which the grader answers operations and the order of the backward pass. No reference, no
expected value: a node the grader gives arrives with its value and local derivatives as data.
"""

from graders.sandbox import codec, runtime

OPERATIONS = ("add", "mul", "power", "exp", "tanh", "sigmoid")
MAX_NODES = 100_000


def _engine(namespace):
    Value, as_value = namespace.get("Value"), namespace.get("as_value")
    if not (isinstance(Value, type) and callable(as_value)):
        raise RuntimeError("the Value cell has not run; run the notebook from the top")
    return Value, as_value


def given_node(Value, data, parents, local, op):
    """A node whose value and local derivatives the grader computed; its backward_step applies the chain rule."""
    out = Value(data, parents, op)

    def backward_step():
        for parent, derivative in zip(parents, local):
            parent.grad += derivative * out.grad

    out.backward_step = backward_step
    return out


def operation(name):
    """PROXIES factory: the notebook's `name` answered by the grader, which sends the node's value and its local
    derivatives for the numbers it is given; the node is built here, with the notebook's Value class."""

    def factory(namespace, ask):
        def answered(*args):
            Value, as_value = _engine(namespace)
            parents = (as_value(args[0]),) if name == "power" else tuple(as_value(a) for a in args)
            numbers = [p.data for p in parents] + ([args[1]] if name == "power" else [])
            data, local = ask(*numbers)
            return given_node(Value, data, parents, local, name)

        return answered

    return factory


def graph(root):
    """Every node reachable from root (root first) and, per node, the indices of its parents."""
    nodes, index, stack = [], {}, [root]
    while stack:
        node = stack.pop()
        if id(node) in index:
            continue
        if len(nodes) >= MAX_NODES:
            raise RuntimeError(f"the graph has more than {MAX_NODES} nodes")
        index[id(node)] = len(nodes)
        nodes.append(node)
        stack.extend(node.parents)
    return nodes, [[index[id(p)] for p in node.parents] for node in nodes]


def ordered_backward(_namespace, ask):
    """PROXIES factory: `backward` answered by the grader: the graph goes out, the order and root gradient come back."""

    def backward(root):
        nodes, parents = graph(root)
        answer = ask(parents)
        root.grad = answer["root_grad"]
        for index in answer["order"]:
            nodes[index].backward_step()

    return backward


def expression(namespace, make_proxy, program, graded, root_grad=None):
    """Build the grader's `program` with the notebook's Value class, the graded operation by the notebook's own
    function and every other operation as a given node, then run backward from the last node (the notebook's own
    `backward` if that is the one graded, else the grader's order). Returns each node's value, the leaves'
    gradients and the root's, or where the student's code failed. root_grad: a gradient the root holds before."""
    Value, as_value = _engine(namespace)
    nodes, leaves = [], []
    for step, item in enumerate(program):
        if "leaf" in item:
            node = Value(item["leaf"])
            leaves.append(node)
        else:
            args = [nodes[a] if type(a) is int else a.get("number", a.get("exponent")) for a in item["args"]]
            if item["op"] == graded:
                try:
                    with runtime.quiet([]):
                        node = namespace[graded](*args)
                except BaseException as exc:
                    return {"raised": runtime.student_error(exc), "step": step}
                if not isinstance(node, Value):
                    return {"not_a_node": codec.encode(runtime.describe(node)), "step": step}
                origin = runtime.describe(getattr(node, "backward_step", None))
                if origin.get("module") != "__main__":  # e.g. a node borrowed from the grader's stand-ins
                    return {"step_not_own": origin, "step": step}
            else:
                parents = [
                    a if type(spec) is int else as_value(a)
                    for a, spec in zip(args, item["args"])
                    if type(spec) is int or "number" in spec
                ]
                node = given_node(Value, item["data"], tuple(parents), item["local"], item["op"])
        nodes.append(node)
    backward = namespace.get("backward") if graded == "backward" else make_proxy("backward")
    if root_grad is not None:
        nodes[-1].grad = root_grad
    try:
        with runtime.quiet([]):
            backward(nodes[-1])
    except BaseException as exc:
        return {"raised": runtime.student_error(exc), "step": len(program)}
    return {
        "values": [node.data for node in nodes],
        "grads": [leaf.grad for leaf in leaves],
        "root_grad": nodes[-1].grad,
    }


ADAPTERS = {"expression": expression}
PROXIES = {**{name: operation(name) for name in OPERATIONS}, "backward": ordered_backward}
