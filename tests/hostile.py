"""Hostile submissions of the backprop lab: the reference solution (or the unanswered release) plus one attack.

`hostile_samples(root)` builds them for the course at `root` (the probe looks for that course's own files);
`EXPECTED[student]` is (status, total of the 15 autograded points, a phrase the reasons must contain).
A few attacks are files rather than notebooks (symbolic links, a huge file): `place_files` puts them in place.
"""

import json
import os
from pathlib import Path

from graders import course
from graders.grading.secret import SECRET_FILE
from graders.labs.sample import Sample
from graders.labs.backprop.checks import GRADED
from graders.labs.backprop.samples import REFERENCE, SAMPLES

UNANSWERED = {}


def _edit(change):
    """A damage function that edits the notebook's JSON."""

    def damage(text):
        notebook = json.loads(text)
        change(notebook)
        return json.dumps(notebook)

    return damage


def _cell(notebook, grade_id):
    return next(c for c in notebook["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _insert_cell(source, before="sigmoid", cell_type="code", metadata=None):
    def change(notebook):
        index = notebook["cells"].index(_cell(notebook, before))
        cell = {"cell_type": cell_type, "metadata": metadata or {}, "source": source, "id": f"student-extra-{index}"}
        if cell_type == "code":
            cell.update(outputs=[], execution_count=None)
        notebook["cells"].insert(index, cell)

    return _edit(change)


def _prepend(grade_id, code, base=REFERENCE):
    return {**base, grade_id: code + "\n" + REFERENCE[grade_id]}


def _duplicate_test(notebook):
    cell = _cell(notebook, "test_sigmoid")
    copy = json.loads(json.dumps(cell))
    copy["id"] = "pasted"
    notebook["cells"].insert(notebook["cells"].index(cell) + 1, copy)


def _rename(notebook):
    _cell(notebook, "forward_propagation")["metadata"]["nbgrader"]["grade_id"] = "my_forward"


def _bump_schema(notebook):
    for cell in notebook["cells"]:
        if "nbgrader" in cell.get("metadata", {}):
            cell["metadata"]["nbgrader"]["schema_version"] = 99


def _delete_test(notebook):
    notebook["cells"].remove(_cell(notebook, "test_adam_update"))


def _edit_test(notebook):
    _cell(notebook, "test_sigmoid")["source"] = "pass  # nothing to check here"


def _metadata_strings(notebook):
    for cell in notebook["cells"]:
        cell["metadata"] = {"nbgrader": "oops, a string"}


def _deep_json(text):
    """100,000 nested lists in the first metadata (written as text: json itself cannot nest that deep)."""
    return text.replace('"metadata": {', '"metadata": {"deep": ' + "[" * 100_000 + "]" * 100_000 + ", ", 1)


def _thirty_thousand_cells(notebook):
    notebook["cells"] += [
        {"cell_type": "markdown", "metadata": {}, "source": "x", "id": f"c{i}"} for i in range(30_000)
    ]


def _saved_outputs_with_surrogates(notebook):
    _cell(notebook, "sigmoid")["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "\ud800 saved"}]


# A frame on every descriptor that might be the channel to the grader: a reply the grader did not ask for.
FORGE = """import json, os, struct
message = json.dumps({"nonce": "0", "outputs": []}).encode()
for fd in range(3, 64):
    try:
        os.write(fd, struct.pack(">I", len(message)) + message)
    except OSError:
        pass"""

NOT_A_DICT = FORGE.replace('{"nonce": "0", "outputs": []}', "[1, 2, 3]")

FLOOD = """import os, struct
for fd in range(3, 64):
    try:
        os.write(fd, struct.pack(">I", 2 ** 31) + b"x" * 1000)
    except OSError:
        pass"""

THREAD_FORGER = """import json, os, struct, threading, time
def forge():
    message = json.dumps({"nonce": "0", "outcome": {"function": {"kind": "function", "module": "__main__"},
                                                    "value": 0.5}}).encode()
    while True:
        for fd in range(3, 64):
            try:
                os.write(fd, struct.pack(">I", len(message)) + message)
            except OSError:
                pass
        time.sleep(0.005)
threading.Thread(target=forge, daemon=True).start()
time.sleep(0.2)"""

# The runtime lives in the student's process: replacing it only changes what the student's own process reports.
PATCH_RUNTIME = """import graders.sandbox.runtime as runtime
def call(*args, **kwargs):
    return {"function": {"kind": "function", "module": "__main__", "cell": "x"}, "value": 0.8807970779778823,
            "args": [], "warnings": []}
runtime.call = call
runtime.probe = lambda *args, **kwargs: {"value": {"dict": {"function": {"dict": {"kind": "function",
                                                                                  "module": "__main__"}},
                                                            "steps": []}}}"""

PATCH_WIRE = """import graders.sandbox.wire as wire
original = wire.send
def send(sock, message):
    if "outcome" in message:
        message = {**message, "outcome": {"function": {"kind": "function", "module": "__main__"}, "value": 0.5}}
    original(sock, message)
wire.send = send"""

SNOOP = """import gc, sys
found = [o for o in gc.get_objects() if isinstance(o, dict) and ("expected" in o or "published" in o)]
frames = list(sys._current_frames().values())
print(len(found), "dicts and", len(frames), "frames found")"""

SNEAKY_FORWARD = '''class Sneaky(float):
    """A number that looks for the checker's expected value when it is converted."""
    def __float__(self):
        import sys
        frame = sys._getframe(1)
        while frame is not None:
            if "expected" in frame.f_locals:
                return float(frame.f_locals["expected"])
            frame = frame.f_back
        return 0.0

def forward_propagation(x, y, w):
    """Cheat: numbers that read the checker's frame."""
    return {key: Sneaky(0.0) for key in ("exp", "tanh", "sigmoid", "loss", "dy_pred")}'''

TRACE_HOOK = """import sys
def hook(frame, event, arg):
    if frame.f_code.co_name not in ("call", "probe", "encode", "returned"):
        return None
    if event == "return" and "expected" in frame.f_locals:
        frame.f_locals["got"] = frame.f_locals["expected"]
    return hook
sys.settrace(hook)"""

STOPS_READING = "import time\nimport graders.sandbox.wire as wire\nwire.receive = lambda sock: time.sleep(10 ** 6)"

HUGE_REQUESTS = """def train(X, y, update_rule, config=None, epochs=20, seed=0):
    for arguments in ((np.zeros((600, 1, 1)), np.zeros((1, 1, 600)), {"momentum": np.ones((600, 1, 1))}),
                      ([0.0], [0.0], {"momentum": 3000, "velocity": "x" * 1_000_000}),
                      ([0.0] * 9, [0.0] * 9, {"momentum": 10 ** 6, "velocity": "x" * 999})):
        try:
            update_rule(*arguments)
        except Exception:
            pass
    return honest_train(X, y, update_rule, config, epochs, seed)"""

SLOW = "import time\ntime.sleep(2.5)"
BUGGY_SIGMOID = next(s for s in SAMPLES if s.student == "bug-sigmoid-overflows").cells["sigmoid"]
HARD_CODED = next(s for s in SAMPLES if s.student == "cheat-hardcoded-forward").cells["forward_propagation"]
BUGGY_FORWARD = next(s for s in SAMPLES if s.student == "bug-forward-tanh-misplaced").cells["forward_propagation"]
WRAPS_REFERENCE = f"""try:  # the reference where it can be imported, a fallback for Colab
    from graders.labs.backprop.reference import forward_propagation
except ImportError:
{chr(10).join("    " + line for line in BUGGY_FORWARD.splitlines())}"""
EXECS_REFERENCE = f"""try:
    exec(open({str(course.ROOT / "graders" / "labs" / "backprop" / "reference.py")!r}).read())
except OSError:
{chr(10).join("    " + line for line in BUGGY_FORWARD.splitlines())}"""
HTML_AND_SCRIPT = """class Page:
    def _repr_html_(self):
        return "<script>alert('output')</script>"
print("<script>alert('printed')</script>")
Page()"""
MARKDOWN_SCRIPT = "Notes <script>alert('markdown')</script> <img src=x onerror=alert('img')> and **bold**"
CONTROL_GRADE_ID = {"nbgrader": {"grade_id": "\x1b[31mEVIL\x07", "grade": False, "solution": False, "locked": False}}


def kept_under_tmp():
    """What a clean room's fresh /tmp holds besides the submission: the Python installation, where it lives there."""
    from graders.grading import executor

    return {Path(p).relative_to("/tmp").parts[0] for p in executor.python_paths() if p.startswith("/tmp/")}


def secret_paths(root):
    """What no sandbox may see, in the course being graded (each must exist on the host, which the test checks)."""
    return [
        root / "gradebook.db",
        root / "source" / "backprop" / "backprop.ipynb",
        root / "submitted",
        root / SECRET_FILE,
        course.ROOT / "graders" / "labs" / "backprop" / "reference.py",
    ]


def probe(root):
    return f"""import os, socket
for path in {[str(p) for p in secret_paths(root)]}:
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(10)
        print("LEAKED", path)
    except OSError as exc:
        print("blocked", type(exc).__name__)
try:
    import graders.labs.backprop.reference
    print("LEAKED reference")
except ImportError:
    print("blocked import")
for target in ("/work/hostile-was-here.txt", {str(root / "hostile-was-here.txt")!r}, "/tmp/../etc/x"):
    try:
        open(target, "w").write("x")
        print("LEAKED write", target)
    except OSError as exc:
        print("blocked", type(exc).__name__)
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2)
    print("LEAKED network")
except OSError as exc:
    print("blocked", type(exc).__name__)
print("pid", os.getpid(), "uid", os.getuid(), "proc", os.listdir("/proc"))"""


def hostile_samples(root):
    root = Path(root)
    return [
        Sample("h-infinite-loop", "", _prepend("sigmoid", "while True:\n    pass")),
        Sample(
            "h-loop-ignores-sigint",
            "",
            _prepend(
                "sigmoid",
                "import signal\nsignal.signal(signal.SIGINT, "
                "signal.SIG_IGN)\nsignal.signal(signal.SIGTERM, "
                "signal.SIG_IGN)\nwhile True:\n    pass",
            ),
        ),
        Sample(
            "h-slow-cells-add-up",
            "",
            {
                **REFERENCE,
                **{
                    k: SLOW + "\n" + REFERENCE[k]
                    for k in GRADED[:6]  # every function before train
                },
            },
        ),
        Sample("h-memory-bomb", "", _prepend("sigmoid", "hog = bytearray(16 * 1024 ** 3)")),
        Sample("h-fork-bomb", "", _prepend("sigmoid", "import os\nwhile True:\n    os.fork()")),
        Sample("h-os-exit", "", _prepend("momentum_update", "import os\nos._exit(0)")),
        Sample("h-sys-exit", "", _prepend("momentum_update", "import sys\nsys.exit('bye')")),
        Sample(
            "h-kernel-kill", "", _prepend("momentum_update", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
        ),
        Sample(
            "h-kills-every-process",
            "",
            REFERENCE,
            damage=_insert_cell(
                "import os, signal\nfor pid in [-1, *range(1, 400)]:\n    try:\n        os.kill(pid, signal.SIGKILL)\n"
                "    except OSError:\n        pass"
            ),
        ),
        Sample("h-reads-secrets-writes-outside-network", "", REFERENCE, damage=_insert_cell(probe(root))),
        Sample(
            "h-fills-tmp",
            "",
            REFERENCE,
            damage=_insert_cell(
                "with open('/tmp/fill', 'wb') as handle:\n    for _ in range(400):\n        handle.write(b'x' * 2 ** 20)"
            ),
        ),
        Sample("h-duplicated-test-cell", "", REFERENCE, damage=_edit(_duplicate_test)),
        Sample("h-renamed-grade-id", "", REFERENCE, damage=_edit(_rename)),
        Sample("h-bumped-schema-version", "", REFERENCE, damage=_edit(_bump_schema)),
        Sample("h-metadata-is-a-string", "", REFERENCE, damage=_edit(_metadata_strings)),
        Sample(
            "h-control-characters-in-grade-id", "", REFERENCE, damage=_insert_cell("x = 1", metadata=CONTROL_GRADE_ID)
        ),
        Sample("h-corrupt-json", "", REFERENCE, damage=lambda text: "{" + text[: len(text) // 3]),
        Sample("h-not-a-notebook", "", REFERENCE, damage=lambda text: json.dumps({"hello": "world"})),
        Sample("h-deeply-nested-json", "", REFERENCE, damage=_deep_json),
        Sample("h-thirty-thousand-cells", "", REFERENCE, damage=_edit(_thirty_thousand_cells)),
        Sample("h-deep-expression", "", REFERENCE, damage=_insert_cell("x = " + "(" * 5000 + "1" + ")" * 5000)),
        Sample(
            "h-lone-surrogates",
            "",
            {**REFERENCE, "sigmoid": REFERENCE["sigmoid"] + "\n# LONE_HALF"},
            damage=lambda text: _edit(_saved_outputs_with_surrogates)(text).replace("LONE_HALF", "\\ud800"),
        ),
        Sample("h-prints-surrogates", "", REFERENCE, damage=_insert_cell("print('\\ud800', 'lone')")),
        Sample("h-huge-output", "", REFERENCE, damage=_insert_cell("print('x' * 50_000_000)")),
        Sample("h-deleted-test-cell", "", REFERENCE, damage=_edit(_delete_test)),
        Sample("h-edited-test-cell", "", {**REFERENCE, "sigmoid": BUGGY_SIGMOID}, damage=_edit(_edit_test)),
        Sample(
            "h-monkeypatched-numpy",
            "",
            {
                **REFERENCE,
                "forward_propagation": BUGGY_FORWARD + "\n\nnp.allclose = "
                "lambda *a, **k: True\nnp.isclose = lambda a, b, **k: np.ones(np.shape(b), bool)",
            },
        ),
        Sample(
            "h-monkeypatched-builtins",
            "",
            {
                **REFERENCE,
                "forward_propagation": BUGGY_FORWARD + "\n\nimport builtins\n"
                "builtins.isinstance = lambda *a: True\nbuiltins.all = lambda *a: True",
            },
        ),
        Sample(
            "h-monkeypatched-graders",
            "",
            {
                **REFERENCE,
                "forward_propagation": BUGGY_FORWARD + "\n\nimport graders."
                "checking as c\nc.expect_close = lambda *a, **k: None",
            },
        ),
        Sample(
            "h-reference-aliased",
            "",
            {**REFERENCE, "forward_propagation": "from graders.labs.backprop.reference import forward_propagation"},
        ),
        Sample("h-wraps-the-reference", "", {**REFERENCE, "forward_propagation": WRAPS_REFERENCE}),
        Sample("h-execs-the-reference-source", "", {**REFERENCE, "forward_propagation": EXECS_REFERENCE}),
        Sample("h-number-reads-checker-frame", "", {**REFERENCE, "forward_propagation": SNEAKY_FORWARD}),
        Sample("h-hard-coded-published", "", {**REFERENCE, "forward_propagation": HARD_CODED}),
        Sample(
            "h-fake-traceback-output",
            "",
            {
                **REFERENCE,
                "sigmoid": REFERENCE["sigmoid"] + "\n\nprint('Traceback "
                "(most recent call last):\\nAssertionError: all tests passed')",
            },
        ),
        Sample("h-html-and-script-output", "", REFERENCE, damage=_insert_cell(HTML_AND_SCRIPT)),
        Sample("h-script-in-markdown", "", REFERENCE, damage=_insert_cell(MARKDOWN_SCRIPT, cell_type="markdown")),
        Sample("h-forged-protocol-reply", "", REFERENCE, damage=_insert_cell(FORGE, before="test_sigmoid")),
        Sample("h-frame-not-a-dict", "", REFERENCE, damage=_insert_cell(NOT_A_DICT, before="test_sigmoid")),
        Sample("h-frame-flood", "", REFERENCE, damage=_insert_cell(FLOOD, before="test_sigmoid")),
        Sample("h-thread-forges-replies", "", UNANSWERED, damage=_insert_cell(THREAD_FORGER)),
        Sample("h-unanswered-patches-runtime", "", UNANSWERED, damage=_insert_cell(PATCH_RUNTIME)),
        Sample("h-unanswered-patches-wire", "", UNANSWERED, damage=_insert_cell(PATCH_WIRE)),
        Sample("h-unanswered-snoops-gc-and-frames", "", UNANSWERED, damage=_insert_cell(SNOOP)),
        Sample(
            "h-trace-hook", "", {**REFERENCE, "forward_propagation": BUGGY_FORWARD}, damage=_insert_cell(TRACE_HOOK)
        ),
        Sample(
            "h-stops-reading",
            "",
            REFERENCE,
            damage=lambda text: _insert_cell("# " + "x" * 2_000_000)(_insert_cell(STOPS_READING)(text)),
        ),
        Sample(
            "h-huge-requests-to-the-grader",
            "",
            {
                **REFERENCE,
                "train": REFERENCE["train"].replace("def train(", "def honest_train(") + "\n\n\n" + HUGE_REQUESTS,
            },
        ),
        Sample(
            "h-changes-w-into-an-array",
            "",
            {
                **REFERENCE,
                "gradient_checking": REFERENCE["gradient_checking"].replace(
                    "def gradient_checking(", "def honest_gradient_checking("
                )
                + "\n\n\ndef gradient_checking(x, y, w, eps=1e-7):\n"
                "    ratio = honest_gradient_checking(x, y, w, eps)\n"
                "    w[0] = np.array([1.0, 2.0])\n    return ratio",
            },
        ),
        Sample('=HYPERLINK("http:x","ok")', "", REFERENCE),
        Sample("h-direction\u202eoverride", "", REFERENCE),
        Sample("h-glob[1]", "", REFERENCE),
    ]


def place_files(root, lab="backprop"):
    """The attacks that are files: links to a classmate's work, and a file too large to read."""
    submitted = Path(root) / "submitted"
    (submitted / "h-symlink-to-classmate" / lab).mkdir(parents=True)
    os.symlink(
        f"../../reference-solution/{lab}/{lab}.ipynb", submitted / "h-symlink-to-classmate" / lab / f"{lab}.ipynb"
    )
    (submitted / "h-symlinked-folder").mkdir()
    os.symlink(f"../reference-solution/{lab}", submitted / "h-symlinked-folder" / lab)
    (submitted / "h-link-to-instructor-source" / lab).mkdir(parents=True)
    os.symlink(f"../../../source/{lab}/{lab}.ipynb", submitted / "h-link-to-instructor-source" / lab / f"{lab}.ipynb")
    (submitted / "h-huge-file" / lab).mkdir(parents=True)
    with open(submitted / "h-huge-file" / lab / f"{lab}.ipynb", "wb") as handle:
        handle.write(b" " * (65 * 1024**2))


# Points of the 15 autograded ones each test cell is worth, in notebook order.
POINTS = {
    "test_sigmoid": 1,
    "test_forward_propagation": 2,
    "test_backward_propagation": 3,
    "test_gradient_checking": 2,
    "test_vanilla_update": 1,
    "test_momentum_update": 2,
    "test_adam_update": 2,
    "test_train": 2,
}
AFTER_MOMENTUM = POINTS["test_momentum_update"] + POINTS["test_adam_update"] + POINTS["test_train"]
FORWARD = POINTS["test_forward_propagation"]

EXPECTED = {  # status, autograded total, a phrase of the reasons ("" for none)
    "h-infinite-loop": ("needs review", 0, "the cell limit"),
    "h-loop-ignores-sigint": ("needs review", 0, "the cell limit"),
    "h-slow-cells-add-up": ("needs review", 8, "the notebook limit"),
    "h-memory-bomb": ("graded", 15 - POINTS["test_sigmoid"], ""),
    "h-fork-bomb": ("graded", 15 - POINTS["test_sigmoid"], ""),
    "h-os-exit": ("needs review", 15 - AFTER_MOMENTUM, "the kernel died in cell momentum_update"),
    "h-sys-exit": ("needs review", 15 - POINTS["test_momentum_update"], "called sys.exit"),
    "h-kernel-kill": ("needs review", 15 - AFTER_MOMENTUM, "the kernel died in cell momentum_update"),
    "h-kills-every-process": ("needs review", 0, "the kernel died"),  # itself among them, as a kernel would
    "h-reads-secrets-writes-outside-network": ("graded", 15, ""),
    "h-fills-tmp": ("graded", 15, ""),
    "h-duplicated-test-cell": ("graded", 15, ""),
    "h-renamed-grade-id": ("graded", 15, ""),
    "h-bumped-schema-version": ("graded", 15, ""),
    "h-metadata-is-a-string": ("graded", 15, ""),
    "h-control-characters-in-grade-id": ("graded", 15, ""),
    "h-corrupt-json": ("rejected", None, "not valid JSON"),
    "h-not-a-notebook": ("rejected", None, "not a Jupyter notebook"),
    "h-deeply-nested-json": ("rejected", None, "nested too deeply"),
    "h-thirty-thousand-cells": ("rejected", None, "more than 2000"),
    "h-deep-expression": ("graded", 15, ""),
    "h-lone-surrogates": ("graded", 15, ""),
    "h-prints-surrogates": ("graded", 15, ""),
    "h-huge-output": ("graded", 15, ""),
    "h-deleted-test-cell": ("needs review", 15, "'test_adam_update' was missing"),
    "h-edited-test-cell": ("needs review", 15 - POINTS["test_sigmoid"], "'test_sigmoid' was edited"),
    "h-monkeypatched-numpy": ("graded", 15 - FORWARD, ""),
    "h-monkeypatched-builtins": ("needs review", 1, "the kernel died in cell forward_propagation"),
    "h-monkeypatched-graders": ("needs review", 15 - FORWARD, "No module named 'graders.checking'"),
    "h-reference-aliased": ("needs review", 15 - FORWARD, "No module named 'graders.labs.backprop.reference'"),
    "h-wraps-the-reference": ("graded", 15 - FORWARD, ""),
    "h-execs-the-reference-source": ("graded", 15 - FORWARD, ""),
    "h-number-reads-checker-frame": ("graded", 15 - FORWARD, ""),
    "h-hard-coded-published": ("needs review", 15 - FORWARD, "hard-coded"),
    "h-fake-traceback-output": ("graded", 15, ""),
    "h-html-and-script-output": ("graded", 15, ""),
    "h-script-in-markdown": ("graded", 15, ""),
    "h-forged-protocol-reply": ("needs review", 0, "forged output"),
    "h-frame-not-a-dict": ("needs review", 0, "forged output"),
    "h-frame-flood": ("needs review", 0, "over the limit"),
    "h-thread-forges-replies": ("needs review", 0, "forged output"),
    "h-unanswered-patches-runtime": ("needs review", 0, "malformed outcome"),
    "h-unanswered-patches-wire": ("needs review", 0, "malformed outcome"),
    "h-unanswered-snoops-gc-and-frames": ("graded", 0, ""),
    "h-trace-hook": ("needs review", 15 - FORWARD, "hook (sys.settrace"),
    "h-symlink-to-classmate": ("rejected", None, "symbolic link"),
    "h-symlinked-folder": ("rejected", None, "symbolic link"),
    "h-link-to-instructor-source": ("rejected", None, "symbolic link"),
    "h-huge-file": ("rejected", None, "larger than 64 MB"),
    "h-stops-reading": ("needs review", 0, "the cell limit"),
    "h-huge-requests-to-the-grader": ("graded", 15, ""),
    "h-changes-w-into-an-array": ("graded", 15 - POINTS["test_gradient_checking"], ""),
    '=HYPERLINK("http:x","ok")': ("graded", 15, ""),
    "h-direction\u202eoverride": ("graded", 15, ""),
    "h-glob[1]": ("rejected", None, "reads as a pattern"),
}
