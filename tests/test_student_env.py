"""Every release notebook runs uploaded alone, as on Colab: a fresh kernel in an empty folder holding only the
.ipynb, a Python with nothing of ours but numpy, matplotlib and tqdm (.venv-student, Python 3.12 where the machine
has it, built by ./run setup), no network and nothing of the course on disk (bubblewrap hides it)."""

import json
import re
import subprocess

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from graders import course, labs
from graders.grading import executor
from graders.samples.classroom import reference_sample
from conftest import read_notebook

pytestmark = pytest.mark.sandbox
STUDENT_VENV = course.ROOT / ".venv-student"
ISOLATION_PROBE = f"""
import importlib.util, pathlib, socket
missing = [m for m in ("nbgrader", "graders", "jupyterlab", "nbclient") if importlib.util.find_spec(m) is None]
files = sorted(p.name for p in pathlib.Path.cwd().iterdir())
course_files = [p for p in ("data/data.pkl", "graders", "source") if (pathlib.Path({str(course.ROOT)!r}) / p).exists()]
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    network = "reached"
except OSError as exc:
    network = "blocked"
print(dict(missing=missing, files=files, course_files=course_files, network=network))
"""


@pytest.fixture(scope="module")
def student_python():
    """The student venv's interpreter and the Python installation it is made from (both mounted, read-only)."""
    python = STUDENT_VENV / "bin" / "python"
    assert python.exists(), "no .venv-student: ./run setup builds it (numpy, matplotlib, tqdm, ipykernel only)"
    base = subprocess.run(
        [python, "-c", "import sys; print(sys.base_prefix)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return python, base


def _run_alone(notebook, student_python, folder):
    """Execute the notebook in a sandboxed kernel whose only writable, visible folder is `folder`, holding the
    .ipynb alone; returns the executed notebook (errors recorded as outputs, as a student would see them)."""
    upload, connection, specs = folder / "upload", folder / "connection", folder / "kernels" / "student"
    for path in (upload, connection, specs):
        path.mkdir(parents=True)
    nbformat.write(notebook, upload / "notebook.ipynb")
    python, base = student_python
    venv = str(python.parent.parent)
    argv = [
        executor.bwrap_path(),
        "--ro-bind",
        "/",
        "/",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/root",
        "--tmpfs",
        "/opt",
        "--tmpfs",
        str(course.ROOT),  # the course, its data and the graders are not there
        "--ro-bind",
        base,
        base,
        "--ro-bind",
        venv,
        venv,
        "--bind",
        str(upload),
        str(upload),
        "--bind",
        str(connection),
        str(connection),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--unshare-all",
        "--die-with-parent",
        "--cap-drop",
        "ALL",
        "--chdir",
        str(upload),
        "--clearenv",
        "--setenv",
        "HOME",
        "/tmp",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        str(python),
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
    ]
    (specs / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "student", "language": "python"}))
    # the kernel talks to us through unix sockets in a folder both sides see: it has no network at all
    kernel = KernelManager(
        kernel_name="student",
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs.parent)]),
        transport="ipc",
        ip=str(connection / "kernel"),
        connection_file=str(connection / "kernel.json"),
    )
    NotebookClient(notebook, km=kernel, timeout=120, allow_errors=True).execute()
    return notebook


def _outputs(notebook):
    return {c.get("id"): c.outputs for c in notebook.cells if c.cell_type == "code"}


def _errors(notebook):
    return {
        cell_id: o.ename for cell_id, outputs in _outputs(notebook).items() for o in outputs if o.output_type == "error"
    }


def _stdout(outputs):
    return "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")


def test_student_env_is_colabs_python_and_numpy_and_nothing_of_the_course(student_python, tmp_path):
    probe = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import sys, numpy, matplotlib, tqdm\nprint(sys.version_info[:2], numpy.__version__)"
            )
        ]
    )
    probe.cells.append(nbformat.v4.new_code_cell(ISOLATION_PROBE))
    version_output, isolation_output = (
        _stdout(o) for o in _outputs(_run_alone(probe, student_python, tmp_path)).values()
    )
    assert version_output.split(")")[1].strip().startswith("2."), version_output  # numpy 2, as on Colab
    if not version_output.startswith("(3, 12)"):
        pytest.skip(f"no Python 3.12 on this machine (the student env runs {version_output.split(')')[0]})")
    assert isolation_output.strip() == repr(
        dict(
            missing=["nbgrader", "graders", "jupyterlab", "nbclient"],
            files=["notebook.ipynb"],
            course_files=[],
            network="blocked",
        )
    )


@pytest.mark.parametrize("lab", course.LABS)
def test_release_as_handed_out_runs_alone_and_only_the_unwritten_functions_fail(lab, student_python, tmp_path):
    executed = _run_alone(read_notebook("release", lab), student_python, tmp_path)
    error_outputs = {
        cell_id: o for cell_id, outputs in _outputs(executed).items() for o in outputs if o.output_type == "error"
    }
    errors = {cell_id: (o.ename, o.evalue) for cell_id, o in error_outputs.items()}
    checks = {cell_id: error for cell_id, error in errors.items() if cell_id.startswith("test_")}
    unwritten = {
        cell_id: ename == "CheckFailed"
        and "not implemented yet" in evalue
        and "remove the raise NotImplementedError()" in evalue
        for cell_id, (ename, evalue) in checks.items()
    }
    assert unwritten and all(unwritten.values()), checks
    shown = {cell_id: re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error_outputs[cell_id].traceback)) for cell_id in checks}
    assert all(
        text.startswith("CheckFailed: ") and "File " not in text and "visible_checks" not in text
        for text in shown.values()
    ), shown  # one message, no checker frames
    assert {cell_id: ename for cell_id, (ename, _) in errors.items() if cell_id not in checks} in (
        {},
        {labs.part(lab).PLOT_CELL: "NotImplementedError"},
    ), errors


@pytest.mark.parametrize("lab", course.LABS)
def test_filled_in_release_runs_alone_with_every_visible_check_passing_and_its_plot(lab, student_python, tmp_path):
    executed = _run_alone(reference_sample(lab).notebook(read_notebook("release", lab)), student_python, tmp_path)
    assert _errors(executed) == {}
    outputs = _outputs(executed)
    for cell_id in outputs:
        if cell_id.startswith("test_"):
            assert _stdout(outputs[cell_id]).startswith(f"✓ {cell_id.removeprefix('test_')}"), outputs[cell_id]
    assert any("image/png" in o.get("data", {}) for o in outputs[labs.part(lab).PLOT_CELL])
    if lab == "backprop":
        assert _stdout(outputs["setup"]) == "X: (506, 5) y: (506,) from the embedded copy\n"
