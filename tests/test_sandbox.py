"""The trust boundary piece by piece: what crosses it (codec), what the sandbox holds (runtime only), what a clean
room leaves to the next (nothing), and the host-side guards (pre-flight bounds, per-student isolation, secrets)."""

import ast
import base64
import json
import os
import time
from html.parser import HTMLParser

import nbformat
import numpy as np
import pytest

from graders import course, judging
from graders.grading import executor, isolation, preflight
from graders.sandbox import codec, runtime, server
from hostile import kept_under_tmp

LAB_FILES = {"data.pkl": course.ROOT / "release" / "backprop" / "data.pkl"}


# --- what may cross --------------------------------------------------------------------------------------


def test_plain_values_cross_and_come_back_equal():
    rng = np.random.default_rng(3)
    rng.normal(size=5)
    value = {
        "a": [1, 2.5, float("nan"), None, True, "text"],
        "t": (1, (2, 3)),
        "w": np.arange(6.0).reshape(2, 3),
        "i": np.arange(3),
        "b": np.array([True, False]),
        "n": np.float64(2.5),
        "rng": rng,
    }
    back = codec.decode(json.loads(json.dumps(codec.encode(value))))
    assert back["t"] == (1, (2, 3)) and back["a"][:2] == [1, 2.5] and back["n"] == 2.5
    assert back["w"].dtype == np.float64 and np.array_equal(back["w"], value["w"])
    assert back["i"].dtype == np.int64 and back["b"].dtype == np.bool_
    assert back["rng"].normal() == rng.normal()  # the generator's state came along


@pytest.mark.parametrize(
    "value, what",
    [
        (type("Sneaky", (float,), {"__float__": lambda self: 1 / 0})(1.0), "Sneaky"),
        (type("MyDict", (dict,), {})(a=1), "MyDict"),
        ({1: "a"}, "keys are not all strings"),
        (np.array(["a"]), "dtype <U1"),
        (lambda: None, "function"),
        (2**300, "integer too large"),
    ],
)
def test_anything_else_becomes_unsupported_without_being_called(value, what):
    encoded = codec.encode(value)
    assert what in encoded["unsupported"]
    assert type(codec.decode(encoded)) is codec.Unsupported


def test_a_list_that_holds_itself_is_unsupported_not_a_recursion():
    loop = []
    loop.append(loop)
    assert "nested too deeply" in codec.encode(loop)[0]["unsupported"]


@pytest.mark.parametrize(
    "structure",
    [
        {"array": {"dtype": "float64", "shape": [2], "data": [1.0]}},
        {"array": {"dtype": "object", "shape": [1], "data": [1]}},
        {"tuple": [1], "dict": {}},
        {"eval": "1 + 1"},
        {"rng": {"bit_generator": "MT19937"}},
        [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
    ],
)
def test_the_grader_refuses_every_structure_it_does_not_expect(structure):
    with pytest.raises(codec.CodecError):
        codec.decode(structure)


# --- the grader's side of a call ------------------------------------------------------------------------


def test_answers_are_plain_values_and_changes_to_arguments_go_back():
    def grow(layer, X):
        layer["z"] = X * 2
        return X.sum()

    answering = judging.Answering({"grow": grow})
    reply = answering("grow", [codec.encode({"W": 1.0}), codec.encode(np.ones(2))], {})
    assert codec.decode(reply["value"]) == 2.0
    assert list(reply["mutated"]) == ["0"] and np.array_equal(codec.decode(reply["mutated"]["0"])["z"], [2.0, 2.0])
    with pytest.raises(judging.Refused, match="not answered"):
        answering("other", [], {})
    with pytest.raises(judging.Refused, match="could not be computed"):
        answering("grow", [codec.encode(None), codec.encode(1.0)], {})


def test_a_student_cannot_make_the_grader_answer_without_bound():
    answering = judging.Answering({"f": lambda: 1}, limit=3)
    for _ in range(3):
        answering("f", [], {})
    with pytest.raises(judging.Refused, match="more than 3 calls"):
        answering("f", [], {})


def test_an_outcome_of_another_shape_is_a_protocol_error():
    for raw in (
        [],
        {"function": "x"},
        {"function": {}, "value": {"eval": 1}},
        {"function": {}, "raised": {"type": 1}},
        {"function": {"kind": "function"}, "value": 1, "args": []},
    ):
        with pytest.raises(judging.ProtocolError):
            judging.parse_outcome("f", raw, sent=1)


def test_hidden_inputs_follow_the_secret_student_and_check():
    draw = lambda *key: judging.check_rng(*key).normal(size=3).tolist()  # noqa: E731
    assert draw(b"s", "backprop", "ann", "train") == draw(b"s", "backprop", "ann", "train")
    assert draw(b"s", "backprop", "ann", "train") != draw(b"t", "backprop", "ann", "train")
    assert draw(b"s", "backprop", "ann", "train") != draw(b"s", "backprop", "bob", "train")


# --- what the sandbox holds -------------------------------------------------------------------------------


def _imports(path):
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
    return names


@pytest.mark.parametrize("lab", course.LABS)
def test_the_sandbox_holds_the_runtime_and_the_labs_probes_and_nothing_else(lab, tmp_path):
    code = executor.sandbox_code(tmp_path / "code", lab)
    files = sorted(str(p.relative_to(code)) for p in code.rglob("*.py"))
    assert files == sorted(
        [
            "graders/__init__.py",
            "graders/labs/__init__.py",
            f"graders/labs/{lab}/__init__.py",
            f"graders/labs/{lab}/probes.py",
            *(f"graders/{f}" for f in executor.SANDBOX_FILES),
        ]
    )
    for path in code.rglob("*.py"):
        graders_imports = {n for n in _imports(path) if n.startswith("graders")}
        assert all(n.startswith("graders.sandbox") for n in graders_imports), (path, graders_imports)
        assert path.name == "__init__.py" or path.read_text() == (course.ROOT / path.relative_to(code)).read_text()
    assert (code / "graders" / "__init__.py").read_text() == ""


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    built = executor.Worker("backprop", LAB_FILES, tmp_path_factory.mktemp("worker"), sandbox=True, name="t")
    yield built
    built.close()


def _printed(outputs):
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


@pytest.mark.sandbox
def test_a_clean_room_starts_with_nothing_the_last_one_left(worker):
    first = worker.open(30, 20)
    first.run_cell(
        "leave",
        "import os, subprocess, threading, time, numpy\n"
        "open('/tmp/left.txt', 'w').write('x')\n"
        "numpy.left_behind = 1\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
        "subprocess.Popen(['sleep', '60'])",
    )
    first.finish()
    second = worker.open(30, 20)
    printed = _printed(
        second.run_cell(
            "look",
            "import os, threading, numpy\n"
            "print(sorted(os.listdir('/tmp')), hasattr(numpy, 'left_behind'),\n"
            "      threading.active_count(), os.listdir('/proc'), os.getuid())",
        )
    )
    second.finish()
    assert printed.strip() == f"{sorted({'submission', *kept_under_tmp()})} False 1 [] 1000"


@pytest.mark.sandbox
def test_a_clean_room_cannot_signal_or_see_the_server(worker):
    session = worker.open(30, 20)
    printed = _printed(
        session.run_cell(
            "kill",
            "import os, signal\nhit = []\nfor pid in range(3, 2000):\n"
            "    try:\n        os.kill(pid, signal.SIGKILL)\n        hit.append(pid)\n"
            "    except OSError:\n        pass\nprint(hit, os.getpid(), os.getppid())",
        )
    )
    session.finish()
    assert printed.strip() == "[] 2 1"  # nothing but itself (2) and its init (1) exists in its pid namespace
    after = worker.open(30, 20)
    assert _printed(after.run_cell("alive", "print('still serving')")) == "still serving\n"
    after.finish()


@pytest.mark.sandbox
def test_nothing_of_the_course_is_importable_inside(worker):
    session = worker.open(30, 20)
    printed = _printed(
        session.run_cell(
            "imports",
            "import graders, sys\nfor name in ('graders.labs.backprop.reference', "
            "'graders.labs.backprop.checks', 'graders.labs.backprop.published', "
            "'graders.judging', 'graders.grading'):\n    try:\n"
            "        __import__(name)\n        print('IMPORTED', name)\n"
            "    except ImportError:\n        print('absent')\n"
            "print(list(graders.__path__))",
        )
    )
    session.finish()
    assert printed.count("absent") == 5 and "IMPORTED" not in printed and "['/grading-code/graders']" in printed


@pytest.mark.sandbox
def test_a_dead_worker_is_replaced_and_the_next_submission_is_graded(worker):
    os.killpg(worker.process.pid, 9)
    worker.process.wait()
    session = worker.open(30, 20)
    assert _printed(session.run_cell("after", "print(1 + 1)")) == "2\n"
    session.finish()


@pytest.mark.sandbox
def test_a_timeout_ends_the_session_and_the_worker_goes_on(worker):
    session = worker.open(30, 1.0)
    started = time.monotonic()
    with pytest.raises(executor.SessionEnded, match="the cell limit is 1 s"):
        session.run_cell("spin", "while True:\n    pass")
    assert time.monotonic() - started < 5
    after = worker.open(30, 20)
    assert _printed(after.run_cell("after", "print('ok')")) == "ok\n"
    after.finish()


# --- host-side guards ---------------------------------------------------------------------------------------


def test_each_host_job_is_bounded_and_fails_alone():
    def job(kind):
        if kind == "recurse":

            def deeper(n):
                return deeper(n + 1)

            deeper(0)
        if kind == "hang":
            time.sleep(60)
        if kind == "memory":
            return len(bytearray(8 * 1024**3))
        return kind

    started = time.monotonic()
    results = isolation.run_each(
        {k: (k,) for k in ("ok", "recurse", "hang", "memory")}, job, timeout=2.0, memory=1024**3
    )
    assert time.monotonic() - started < 10
    assert results["ok"] == ("ok", "ok")
    assert results["recurse"][0] == results["hang"][0] == results["memory"][0] == "failed"
    assert "RecursionError" in results["recurse"][1] and "longer than 2 s" in results["hang"][1]
    assert "MemoryError" in results["memory"][1]


def _notebook(cells, **extra):
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5, **extra})


def test_preflight_reads_damaged_metadata_as_absent_and_bad_characters_as_replaced():
    text = _notebook(
        [
            {"cell_type": "code", "metadata": {"nbgrader": "a string"}, "source": ["x = '\ud800'\n"]},
            {"cell_type": "code", "metadata": [], "source": 5},
            {"cell_type": "video", "source": "?"},
            {"cell_type": "markdown", "metadata": {"nbgrader": {"grade_id": 7, "points": "lots"}}, "source": "a\x00b"},
        ]
    )
    notebook, notes = preflight.read_submission(text)
    assert [c.source for c in notebook.cells] == ["x = '\ufffd'\n", "a\ufffdb"]
    assert all(c.metadata == {} for c in notebook.cells) and "2 cell(s)" in notes[0]


@pytest.mark.parametrize(
    "text, reason",
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (_notebook([{"cell_type": "raw", "source": ""}] * 2001), "more than 2000"),
        (json.dumps({"worksheets": []}), "nbformat 3"),
    ],
)
def test_preflight_rejects_what_it_cannot_bound(text, reason):
    with pytest.raises(preflight.Rejected, match=reason):
        preflight.read_submission(text)


def test_preflight_reads_deeply_nested_outputs_and_metadata_and_drops_them():
    deep = json.loads("[" * 300 + "]" * 300)
    text = _notebook(
        [
            {
                "cell_type": "code",
                "source": "x = 1",
                "metadata": {"colab": deep},
                "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"application/json": deep}}],
            }
        ],
        metadata={"deep": deep},
    )
    notebook, notes = preflight.read_submission(text)
    assert [(c.source, c.metadata, c.outputs) for c in notebook.cells] == [("x = 1", {}, [])] and notes == []


def test_preflight_reads_a_colab_file_past_20_mb_of_plots(tmp_path):
    plot = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "A" * (25 * 1024**2)}}
    (tmp_path / "plots.ipynb").write_text(_notebook([{"cell_type": "code", "source": "x = 1", "outputs": [plot]}]))
    notebook, _ = preflight.read_submission(preflight.read_file(tmp_path / "plots.ipynb"))
    assert notebook.cells[0].source == "x = 1"


def test_preflight_reads_a_windows_file_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_bytes(
        b"\xef\xbb\xbf" + _notebook([{"cell_type": "code", "source": "x = 1"}]).replace("\n", "\r\n").encode()
    )
    notebook, _ = preflight.read_submission(preflight.read_file(path))
    assert notebook.cells[0].source == "x = 1"


def test_preflight_refuses_links_and_large_files(tmp_path):
    (tmp_path / "big.ipynb").write_bytes(b" " * (preflight.MAX_FILE_BYTES + 1))
    os.symlink(tmp_path / "big.ipynb", tmp_path / "link.ipynb")
    with pytest.raises(preflight.Rejected, match="larger than"):
        preflight.read_file(tmp_path / "big.ipynb")
    with pytest.raises(preflight.Rejected, match="cannot be opened"):
        preflight.read_file(tmp_path / "link.ipynb")


def test_runtime_reports_a_crash_at_the_students_own_line():
    namespace = {"__name__": "__main__"}
    source = "def f(x):\n    y = x + 1\n    return y / 0\n"
    filename = runtime.cell_filename("f")
    runtime.remember_source(filename, source)
    exec(compile(source, filename, "exec"), namespace)
    outcome = judging.LocalStudent(namespace).call("f", 1)
    with pytest.raises(judging.Fail, match=r"ZeroDivisionError.*\n  at line 3 of your cell 'f': return y / 0"):
        outcome.returned()


@pytest.mark.sandbox
def test_processes_a_cell_starts_do_not_outlive_it_and_etc_holds_only_the_loader_cache(worker):
    session = worker.open(30, 20)
    session.run_cell("start", "import os, subprocess\nchild = subprocess.Popen(['sleep', '60']).pid")
    printed = _printed(
        session.run_cell(
            "look",
            "try:\n    os.kill(child, 0)\n    print('ALIVE')\n"
            "except ProcessLookupError:\n    print('gone')\nprint(os.listdir('/etc'))",
        )
    )
    session.finish()
    assert printed == "gone\n['ld.so.cache']\n"


@pytest.mark.sandbox
def test_a_worker_gets_a_pids_cap_and_a_memory_cap_where_the_machine_has_the_controllers():
    cgroup = executor.Cgroup("caps")
    try:
        controllers = executor._controllers()
        limits = [
            f.read_text().strip()
            for p in cgroup.paths
            for f in (p / "pids.max", p / "memory.limit_in_bytes", p / "memory.max")
            if f.exists()
        ]
        if "pids" in controllers:
            assert str(executor.MAX_PROCESSES) in limits
        if "memory" in controllers:
            assert str(executor.MAX_MEMORY) in limits
    finally:
        cgroup.remove()


def test_a_channel_stops_at_its_byte_budget_and_at_oversized_frames():
    import socket

    left, right = socket.socketpair()
    channel = executor.Channel(left, budget=1000)
    right.sendall(b"\x00\x00\x03\xe8" + b"x" * 1000)
    with pytest.raises(executor.SessionEnded, match="more than"):
        channel.receive(time.monotonic() + 5)
    left, right = socket.socketpair()
    right.sendall(b"\x7f\xff\xff\xff")
    with pytest.raises(executor.SessionEnded, match="over the limit"):
        executor.Channel(left).receive(time.monotonic() + 5)


def _png_of(width, height):
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return base64.b64encode(
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + header
        + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    ).decode()


PNG = _png_of(2, 2)


def test_only_plain_outputs_and_png_figures_are_kept():
    kept = executor.clean_outputs(
        [
            {"output_type": "stream", "name": "stdout", "text": "a\ud800\x00b"},
            {"output_type": "execute_result", "data": {"text/plain": "1"}},
            {"output_type": "display_data", "data": {"image/png": PNG, "text/plain": "<Fig>"}},
        ]
    )
    assert kept[0]["text"] == "a\ufffd\ufffdb" and kept[1]["data"] == {"text/plain": "1"}
    assert kept[2] == {"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG, "text/plain": "<Fig>"}}
    not_png = base64.b64encode(b"<svg onload=alert(1)>").decode()
    for output in (
        {"output_type": "display_data", "data": {"text/html": "<script>"}},
        {"output_type": "display_data", "data": {"image/png": not_png, "text/plain": ""}},
        {"output_type": "display_data", "data": {"image/png": PNG + '" onerror="x', "text/plain": ""}},
        {"output_type": "display_data", "data": {"image/png": PNG, "text/plain": "", "text/html": "<b>"}},
        {"output_type": "execute_result", "data": {"text/plain": "1", "text/html": "<b>"}},
        {"output_type": "stream", "name": "stdin", "text": ""},
    ):
        with pytest.raises(executor.SessionEnded):
            executor.clean_outputs([output])


@pytest.mark.sandbox
def test_a_cells_figures_come_back_as_bounded_png_outputs(worker):
    session = worker.open(30, 20)
    shown = session.run_cell(
        "plot",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\n"
        "plt.figure()\nplt.plot([3, 2, 1])\nprint('drawn')",
    )
    many = session.run_cell("many", "import matplotlib.pyplot as plt\nfor i in range(8):\n    plt.figure()")
    huge = session.run_cell("huge", "import matplotlib.pyplot as plt\nfigure = plt.figure(figsize=(400, 400))")
    session.finish()
    figures = [o for o in shown if o["output_type"] == "display_data"]
    assert _printed(shown) == "drawn\n" and len(figures) == 2  # the one shown and the one left open
    assert all(base64.b64decode(f["data"]["image/png"]).startswith(b"\x89PNG") for f in figures)
    assert sum(o["output_type"] == "display_data" for o in many) == server.FIGURES_PER_CELL
    assert "more figures are not shown" in _printed(many)
    assert [o["output_type"] for o in huge] == ["stream"] and "is not shown" in _printed(huge)


def test_the_secret_is_made_once_and_never_committed(tmp_path):
    import subprocess

    from graders.grading.secret import SECRET_FILE, course_secret

    assert course_secret(tmp_path) == course_secret(tmp_path) and len(course_secret(tmp_path)) == 32
    assert oct((tmp_path / SECRET_FILE).stat().st_mode)[-3:] == "600"
    ignored = subprocess.run(["git", "check-ignore", SECRET_FILE], cwd=course.ROOT, capture_output=True, text=True)
    assert ignored.stdout.strip() == SECRET_FILE


def test_the_grader_answers_only_calls_of_bounded_size():
    answering = judging.Answering({"outer": lambda a, b: np.outer(a, b)})
    small = codec.encode(np.ones(10))
    assert codec.decode(answering("outer", [small, small], {})["value"]).shape == (10, 10)
    for big in (np.ones(50_000), np.ones((1, 2_000)), [1.0] * 200_000):
        with pytest.raises(judging.Refused, match="too large"):
            answering("outer", [codec.encode(big), small], {})


def test_a_student_cannot_make_the_grader_draw_a_huge_matrix():
    from graders.labs.mlp.checks import _answers

    with pytest.raises(judging.Refused, match="never needs"):
        _answers("train")["glorot_uniform"](30_000, 30_000, np.random.default_rng(0))


@pytest.mark.sandbox
def test_a_python_installation_under_tmp_stays_visible_in_every_clean_room(tmp_path):
    """A clone under /tmp puts the course's venv there; each clean room's fresh /tmp must not hide it."""
    import site
    import subprocess
    import sys

    assert str(tmp_path).startswith("/tmp/")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv"], check=True)
    packages = next((tmp_path / "venv" / "lib").glob("python*/site-packages"))
    (packages / "course.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    script = (
        "import sys\nfrom pathlib import Path\nfrom graders.grading import executor\n"
        f"worker = executor.Worker('backprop', {{}}, Path({str(tmp_path / 'build')!r}), name='tmp')\n"
        "session = worker.open(30, 20)\n"
        "print(session.run_cell('look', 'import os, sys, numpy.linalg\\nprint(sys.prefix, os.path.isdir(sys.prefix))'))\n"
        "session.finish()\nworker.close()"
    )
    result = subprocess.run(
        [tmp_path / "venv" / "bin" / "python", "-c", script],
        cwd=course.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"{tmp_path / 'venv'} True" in result.stdout, result.stdout + result.stderr


@pytest.mark.sandbox
def test_dev_and_dev_shm_are_not_shared_between_clean_rooms(worker):
    first = worker.open(30, 20)
    printed = _printed(
        first.run_cell(
            "write",
            "for path in ('/dev/left', '/dev/shm/left'):\n    try:\n"
            "        open(path, 'w').write('x')\n        print('wrote', path)\n"
            "    except OSError as exc:\n        print(type(exc).__name__)\n"
            "open('/dev/null', 'w').write('devices still work')",
        )
    )
    first.finish()
    second = worker.open(30, 20)
    seen = _printed(
        second.run_cell("look", "import os\nprint(sorted(os.listdir('/dev/shm')), os.path.exists('/dev/left'))")
    )
    second.finish()
    assert printed == "OSError\nwrote /dev/shm/left\n" and seen == "[] False\n"


@pytest.mark.parametrize(
    "arguments",
    [
        (np.zeros((600, 1, 1)), np.zeros((1, 1, 600))),  # broadcasting: three axes multiply
        ([0.0], "x" * 2_000),  # a long string, to be repeated
    ],
)
def test_the_grader_refuses_arguments_whose_work_would_multiply(arguments):
    answering = judging.Answering({"f": lambda a, b: a * b})
    with pytest.raises(judging.Refused, match="too large"):
        answering("f", [codec.encode(a) for a in arguments], {})


def test_an_answered_update_rule_refuses_a_config_that_is_not_numbers():
    from graders.labs.backprop import checks, reference

    rule = checks._answer_update(reference.momentum_update)
    with pytest.raises(judging.Refused, match="config\\['momentum'\\] must be a finite number"):
        rule(np.zeros(9), np.zeros(9), {"momentum": "x" * 10, "velocity": 1.0})
    with pytest.raises(judging.Refused, match="shape"):
        rule(np.zeros((9, 9)), np.zeros(9), {})


def test_a_frame_of_countless_empty_lists_is_refused_before_it_is_parsed():
    import socket

    import threading

    left, right = socket.socketpair()
    payload = b"[" + b"[]," * 250_000 + b"[]]"
    threading.Thread(target=right.sendall, args=(len(payload).to_bytes(4, "big") + payload,), daemon=True).start()
    with pytest.raises(executor.SessionEnded, match="lists and objects"):
        executor.Channel(left).receive(time.monotonic() + 5)


def test_timing_and_capture_magics_run_their_code_as_a_kernel_does():
    from IPython.core.inputtransformer2 import TransformerManager

    from graders.sandbox.kernel import Kernel

    kernel = Kernel({"__name__": "__main__"}, TransformerManager())
    cells = {
        "captured": "%%capture out\ndef f(x):\n    return 2 * x\nprint('captured')",
        "timed_cell": "%%time\ndef g(x):\n    return f(x) + 1",
        "timed_line": "%time h = g(1)",
        "timeit_line": "%timeit unused = g(2)",
        "timeit_cell": "%%timeit\nalso_unused = g(3)",
    }
    outputs = {cell_id: kernel.run_cell(cell_id, source) for cell_id, source in cells.items()}
    assert not [o for cell in outputs.values() for o in cell if o["output_type"] == "error"], outputs
    namespace = kernel.namespace
    assert namespace["f"](1) == 2 and namespace["h"] == 3 and namespace["out"].stdout == "captured\n"
    assert "unused" not in namespace and "also_unused" not in namespace  # timeit keeps no definitions, as in IPython
    escaped = kernel.run_cell("shell", "!ls /")
    assert escaped[-1]["output_type"] == "error" and "not available while grading" in escaped[-1]["evalue"]


def _result_that_outgrows_the_pipe(size):
    return "\x7f" * size  # each character becomes six in JSON (\u007f)


def test_a_child_whose_result_is_too_large_fails_alone_and_never_returns_into_the_caller(tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "RESULT_LIMIT", 1024)
    results = isolation.run_each({"big": (200_000,), "small": (1,)}, _result_that_outgrows_the_pipe, 30)
    with open(tmp_path / "returned", "a") as log:  # a child that escaped would get here too
        log.write(f"{os.getpid()}\n")
    assert results["small"] == ("ok", "\x7f") and results["big"][0] == "failed"
    assert (tmp_path / "returned").read_text() == f"{os.getpid()}\n"


def test_the_autograded_copy_keeps_a_students_markdown_as_cleaned_html_the_formgrader_cannot_bring_to_life():
    from nbconvert.filters.markdown import markdown2html

    from graders.grading.nbgrader_steps import CleanStudentMarkup

    attack = (
        "Adam wins, $v_t$ **clearly**. <img src=x onerror=alert(1)> [a](javascript:alert(2))\n\n"
        "<iframe>[b](javascript:alert(3))</iframe>\n\n- one\n- two"
    )
    answer = nbformat.v4.new_markdown_cell(attack)
    answer.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "grade_id": "conclusion"}
    instructors = nbformat.v4.new_markdown_cell("## Task <b>7</b>")
    instructors.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": True, "grade_id": "task"}
    notebook = nbformat.v4.new_notebook(cells=[answer, instructors])
    cleaned, _ = CleanStudentMarkup().preprocess(notebook, {})
    stored = cleaned.cells[0].source
    shown = markdown2html(stored)  # what nbgrader's formgrade template does with it
    assert "onerror" not in shown and "javascript:" not in shown.replace("(javascript:", "")
    assert "<a " not in shown.replace("<a>", "")  # neither link survives as a link
    assert "<strong>clearly</strong>" in shown and "$v_t$" in shown and "<li>one</li>" in shown
    assert "\n\n" not in stored and stored.startswith("<div>")
    assert cleaned.cells[1].source == "## Task <b>7</b>"  # the instructor's cell as written
    pasted = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("My plot: ![plot](attachment:image.png)")])
    shown = markdown2html(CleanStudentMarkup().preprocess(pasted, {})[0].cells[0].source)  # no attachment kept
    assert "My plot:" in shown and 'alt="plot"' in shown and "attachment:" not in shown


def test_cleaned_student_markup_keeps_harmless_formatting():
    """Tables, sub/superscripts, math, emphasis and images embedded as data URIs survive the cleaning; an image from
    elsewhere (a tracking pixel) or a data URI that is not an image does not."""
    from nbconvert.filters.markdown import markdown2html

    from graders.grading.safe_html import clean

    pixel = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    answer = (
        "| rate | loss |\n|---|---|\n| 0.1 | *low* |\n\nH<sub>2</sub>O, x<sup>2</sup>, $\\frac{1}{2}$\n\n"
        f'![plot]({pixel}) ![tracker](https://evil.example/p.png) <img src="data:text/html;base64,PHNjcmlwdD4=">'
    )
    shown = clean(markdown2html(answer))
    for kept in ("<table>", "<td>0.1</td>", "<em>low</em>", "<sub>2</sub>", "<sup>2</sup>", "\\frac{1}{2}", pixel):
        assert kept in shown, kept
    assert "evil.example" not in shown and "text/html" not in shown and 'alt="tracker"' in shown


# Where nbconvert's BeautifulSoup pass gives an image its alt text, and where it must not (found by a red-team session:
# a regex took the '>' and the 'alt=' inside attribute values for the tag's own).
ALT_CASES = {
    "plain": '<img src="data:image/png;base64,iVBORw0KGgo=">',
    "'>' in a value": '<img title="x>y" alt="my plot of the loss" src="data:image/png;base64,iVBORw0KGgo=">',
    "'alt=' in a value": '<img src="data:image/png;base64,iVBORw0KGgo=" title="see alt=below">',
    "upper case, self-closing, spaces": '<IMG SRC="a.png"/><imgx src="b"><p>text\n<img src=c.png  ></p>',
    "script and comment": '<script>var s = "<img src=x>";</script><!-- <img src=y> --><img\nsrc="z">',
}


class _Images(HTMLParser):
    """Every <img>'s attribute names, duplicates kept (a browser keeps an attribute's first value)."""

    def __init__(self, page):
        super().__init__()
        self.names = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.names.append([name for name, _ in attrs])


@pytest.mark.parametrize("page", ALT_CASES.values(), ids=ALT_CASES.keys())
def test_feedback_images_get_nbconverts_alt_text_where_nbconvert_gives_it_and_nowhere_else(page):
    from bs4 import BeautifulSoup

    from graders.grading.nbgrader_steps import NO_ALT_TEXT, with_alt_text

    nbconverts = BeautifulSoup(page, features="html.parser")  # nbconvert's last pass, as HTMLExporter does it
    for image in nbconverts.select("img:not([alt])"):
        image.attrs["alt"] = NO_ALT_TEXT
    ours = with_alt_text(page)
    assert str(BeautifulSoup(ours, features="html.parser")) == str(nbconverts)
    assert all(names.count("alt") == 1 for names in _Images(ours).names)  # one alt each, the student's if written


def test_feedback_keeps_an_image_size_only_when_it_is_a_number():
    from nbconvert.exporters import HTMLExporter

    from graders.grading.nbgrader_steps import ImageSizesAsNumbers, feedback_config

    sizes = {"width": "1 onerror=alert(document.domain)", "height": 240}
    figure = nbformat.v4.new_output(
        "display_data", data={"image/png": _png_of(10, 10)}, metadata={"image/png": sizes, "height": "2 onload=x()"}
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plot()", outputs=[figure])])
    classic = HTMLExporter(template_name="classic")  # the template nbgrader's feedback extends
    assert "onerror" in classic.from_notebook_node(notebook)[0]  # as the student wrote it, a live attribute
    shown, _ = classic.from_notebook_node(ImageSizesAsNumbers().preprocess(notebook, {})[0])
    assert "onerror" not in shown and "onload" not in shown and 'height="240"' in shown
    assert ImageSizesAsNumbers in feedback_config(course.ROOT).GenerateFeedback.preprocessors


def test_the_grader_bounds_figures_itself_by_pixels_and_by_the_notebooks_budget():
    figure = {"output_type": "display_data", "data": {"image/png": _png_of(100, 100), "text/plain": ""}}
    assert executor.clean_outputs([figure])[0]["data"]["image/png"] == figure["data"]["image/png"]
    with pytest.raises(executor.SessionEnded, match="pixels"):  # a dpi the sandbox did not count
        executor.clean_outputs([{**figure, "data": {"image/png": _png_of(9600, 7200), "text/plain": ""}}])
    budget = [3, 10**9]
    kept = [executor._within_budget(executor.clean_outputs([figure] * 2), budget) for _ in range(2)]
    kinds = [o["output_type"] for outputs in kept for o in outputs]
    assert kinds == ["display_data"] * 3 + ["stream"] and budget == [0, 10**9 - 3 * len(_png_of(100, 100))]
