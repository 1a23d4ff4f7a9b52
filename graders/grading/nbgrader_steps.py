"""nbgrader as the engine: its autograde with execution replayed from the sandbox, and redacted, safe feedback."""
import json
from pathlib import Path

import nbgrader

import nbformat
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.preprocessors import CheckCellMetadata, ClearMarkScheme, Execute, NbGraderPreprocessor
from traitlets import Unicode
from traitlets.config import PyFileConfigLoader

from graders.course import FAILED_STUDENT

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MARK_SCHEME_BEGIN, MARK_SCHEME_END = (ClearMarkScheme.class_traits()[name].default()
                                      for name in ("begin_mark_scheme_delimeter", "end_mark_scheme_delimeter"))
# templates/feedback/safe.html.j2 extends nbgrader's own feedback template (the folder shares its name, so nbgrader's
# template_name "feedback" finds both, ours first).
TEMPLATES = Path(__file__).resolve().parent / "templates"
NBGRADER_TEMPLATES = Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader" / "templates"


class ReplayOutputs(NbGraderPreprocessor):
    """Stands in for nbgrader's Execute: gives each cell the outputs the sandboxed run recorded for it."""

    outputs_dir = Unicode("", help="folder of <student>.json files: {cell id: outputs}").tag(config=True)

    def preprocess(self, nb, resources):
        student = resources["nbgrader"]["student"]
        recorded = json.loads((Path(self.outputs_dir) / f"{student}.json").read_text())
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [nbformat.from_dict(o) for o in recorded.get(cell.get("id"), [])]
                cell.execution_count = None
        return nb, resources


def _without(source, begin, end):
    """source without its regions from a line holding `begin` to one holding `end`."""
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif not inside:
            lines.append(line)
    return "\n".join(lines)


class RedactHiddenTests(NbGraderPreprocessor):
    """Feedback shows a hidden test's message, never its code or traceback, and no mark scheme."""

    def preprocess_cell(self, cell, resources, index):
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and grading.get("grade") and not grading.get("solution"):
            cell.source = _without(cell.source, HIDDEN_BEGIN, HIDDEN_END)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        if grading.get("task"):
            cell.source = _without(cell.source, MARK_SCHEME_BEGIN, MARK_SCHEME_END)
        return cell, resources


def _config(root, **overrides):
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    for section, values in overrides.items():
        for key, value in values.items():
            setattr(getattr(config, section), key, value)
    return config


def autograde_replayed(root, lab, staging_dir, outputs_dir):
    """nbgrader autograde of every staged submission, outputs replayed instead of executed.

    CheckCellMetadata is left out: pre-flight copies every cell's metadata from the release, so it is valid
    by construction, and nbgrader's check re-validates its JSON schema per cell (a third of this step's time).
    """
    traits = Autograde.class_traits()
    sanitize = [p for p in traits["sanitize_preprocessors"].default() if p is not CheckCellMetadata]
    grading = [ReplayOutputs if p is Execute else p for p in traits["autograde_preprocessors"].default()
               if p is not CheckCellMetadata]
    config = _config(root,
                     CourseDirectory={"submitted_directory": str(Path(staging_dir).relative_to(root))},
                     Autograde={"sanitize_preprocessors": sanitize, "autograde_preprocessors": grading},
                     ReplayOutputs={"outputs_dir": str(outputs_dir)})
    return _failed_students(NbGraderAPI(config=config).autograde(lab, "*", force=True, create=True), "autograde")


def _failed_students(result, step):
    """The students nbgrader could not process (it goes on with the others); an error that names none is ours."""
    if result["success"]:
        return []
    failed = sorted(set(FAILED_STUDENT.findall(f"{result.get('log', '')}\n{result.get('error', '')}")))
    if not failed:
        raise RuntimeError(f"nbgrader {step} failed:\n{result.get('error', '')}\n{result.get('log', '')}")
    return failed


def generate_feedback(root, lab):
    """nbgrader generate_feedback for every autograded student: hidden tests redacted, student markup cleaned
    (graders/grading/safe_html.py), output HTML sanitised by nbconvert. Returns the students it could not do."""
    defaults = GenerateFeedback.class_traits()["preprocessors"].default()
    config = _config(root, GenerateFeedback={"preprocessors": [RedactHiddenTests, *defaults]},
                     HTMLExporter={"sanitize_html": True, "template_file": "safe.html.j2",
                                   "extra_template_basedirs": [str(TEMPLATES), str(NBGRADER_TEMPLATES)],
                                   "filters": {"safe_markup": "graders.grading.safe_html.clean"}})
    return _failed_students(NbGraderAPI(config=config).generate_feedback(lab, "*", force=True), "generate_feedback")
