"""nbgrader as the engine: its autograde with execution replayed from the sandbox, and redacted, safe feedback."""

import contextlib
import functools
import json
import re
import shutil
import threading
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import nbgrader
from nbgrader import utils
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde, GenerateFeedback
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.markdown import markdown2html
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbgrader.preprocessors import CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, Execute, NbGraderPreprocessor
from traitlets import Unicode

from graders import course
from graders.grading import safe_html

ATTACHMENT = re.compile(r"\(\s*<?attachment:[^)]*\)")
# templates/feedback/safe.html.j2 extends nbgrader's own feedback template (the folder shares its name, so nbgrader's
# template_name "feedback" finds both, ours first).
TEMPLATES = Path(__file__).resolve().parent / "templates"
NBGRADER_TEMPLATES = Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader" / "templates"
NO_ALT_TEXT = "No description has been provided for this image"  # nbconvert's words


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter (nbconvert 7) without its last step, which reads the whole page again with
    BeautifulSoup's pure-Python parser only to give images without one an alt text and JupyterLab's cells a tabindex:
    most of the time of a feedback page (benchmarks/grading.py times both). The classic template nbgrader's feedback
    extends has no JupyterLab cells; the alt text, in nbconvert's words, is added here. tests/test_grade.py checks
    that the page, read again as nbconvert reads it, is nbconvert's."""

    def from_notebook_node(self, nb, resources=None, **kw):
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.register_filter(
            "highlight_code", self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        )
        resources = self._init_resources(resources)
        data_types = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("filter_data_type", data_types)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return with_alt_text(html), resources


class _ImagesWithoutAlt(HTMLParser):
    """Where in `html` each <img> without an alt attribute ends, read by the parser nbconvert's BeautifulSoup pass
    reads with (html.parser: attribute values with '>' or 'alt=' in them are values; only the parse, a fifth of that
    pass)."""

    def __init__(self, html):
        super().__init__(convert_charrefs=False)
        self.line_starts, self.ends = [0, *(match.end() for match in re.finditer("\n", html))], []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag == "img" and not any(name == "alt" for name, _ in attrs):
            line, column = self.getpos()
            tag_text = self.get_starttag_text()
            closing = 2 if tag_text.endswith("/>") else 1
            self.ends.append(self.line_starts[line - 1] + column + len(tag_text) - closing)


def with_alt_text(html):
    """The page with nbconvert's alt text on every image that has none, placed last, where nbconvert places it."""
    parts, start = [], 0
    for end in _ImagesWithoutAlt(html).ends:
        parts += [html[start:end].rstrip(" "), f' alt="{NO_ALT_TEXT}"']
        start = end
    return "".join([*parts, html[start:]])


class ReplayOutputs(NbGraderPreprocessor):
    """Stands in for nbgrader's Execute: gives each cell the outputs the sandboxed run recorded for it."""

    outputs_dir = Unicode("", help="folder of <student>.json files: {cell id: outputs}").tag(config=True)

    def preprocess(self, nb, resources):
        student = resources["nbgrader"]["student"]
        recorded = json.loads((Path(self.outputs_dir) / f"{student}.json").read_text())
        count = 0
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [nbformat.from_dict(o) for o in recorded.get(cell.get("id"), [])]
                count += cell.get("id") in recorded
                cell.execution_count = count if cell.get("id") in recorded else None  # the order they ran in
        return nb, resources


class RedactHiddenTests(ClearHiddenTests, ClearMarkScheme):
    """Feedback shows a hidden test's message, never its code or traceback, and no mark scheme. The regions are
    nbgrader's own, with the delimiters the course configures for ClearHiddenTests and ClearMarkScheme."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            self._remove_hidden_test_region(cell)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        if utils.is_task(cell):
            self._remove_mark_scheme_region(cell)
        return cell, resources


class FoldHiddenCells(NbGraderPreprocessor):
    """The autograded copy (what the formgrader and feedback show) folds a locked cell that the release keeps
    collapsed — the embedded data file, ~110 lines of base64 — into one line; the release has it whole."""

    def preprocess_cell(self, cell, resources, index):
        if cell.metadata.get("jupyter", {}).get("source_hidden") and utils.is_locked(cell) and not utils.is_grade(cell):
            cell.source = (
                f"# {cell.metadata.nbgrader.get('grade_id', 'cell')}: {len(cell.source)} characters as "
                "released, folded here by the grader"
            )
        return cell, resources


class CleanStudentMarkup(NbGraderPreprocessor):
    """What the formgrader shows is data. nbgrader's grading page renders a cell's markdown as it is, inside the
    instructor's authenticated Jupyter server, so a script in a written answer would run with the instructor's
    rights. Every markdown cell the student could write (not a locked one, which is the instructor's) is stored in
    the autograded copy as its HTML, cleaned (graders/grading/safe_html.py), in one <div> block with no blank line,
    so a second markdown pass (the formgrader's, the feedback's) keeps it as it is."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and not utils.is_locked(cell):
            cell.source = _cleaned_markup(cell.source)
        return cell, resources


@functools.lru_cache(maxsize=512)  # the release's own markdown cells are the same in every notebook of the class
def _cleaned_markup(source):
    """A student-editable markdown cell as CleanStudentMarkup stores it: its HTML, cleaned, in one <div> block."""
    source = ATTACHMENT.sub("(#)", source)  # a pasted image's attachment is not kept by pre-flight: its alt text shows
    try:
        html = markdown2html(source)
    except Exception:  # markdown nbconvert cannot render: shown as the text it is
        html = f"<pre>{escape(source)}</pre>"
    lines = [line if line.strip() else "<!-- -->" for line in safe_html.clean(html).splitlines()]
    return "\n".join(["<div>", *lines, "</div>"])


class ImageSizesAsNumbers(NbGraderPreprocessor):
    """nbconvert's classic template writes an image output's width and height metadata into its <img> tag unquoted,
    escaped only as text: a width of '1 onerror=...' is a live attribute. The grade command stores no output metadata,
    but a notebook autograded by plain nbgrader keeps the student's: feedback keeps a width or height that is a
    number and drops any other (found by a red-team session)."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            metadata = output.get("metadata", {})
            for sizes in [metadata, *(value for value in metadata.values() if isinstance(value, dict))]:
                for key in ("width", "height"):
                    if key in sizes and (isinstance(sizes[key], bool) or not isinstance(sizes[key], (int, float))):
                        del sizes[key]
        return cell, resources


class MarkNotGraded(NbGraderPreprocessor):
    """After nbgrader's GetGrades: a cell nobody has graded yet (a written answer before hand grading) shows as not
    graded, not as 0, and the page says how many points still wait (resources nbgrader.not_graded)."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info, waiting = resources["nbgrader"], 0.0
        with Gradebook(info["db_url"]) as gradebook:
            for cell in filter(utils.is_grade, nb.cells):
                grading = cell.metadata.nbgrader
                grade = gradebook.find_grade(grading["grade_id"], info["notebook"], info["assignment"], info["student"])
                if grade.auto_score is None and grade.manual_score is None:
                    grading["score"] = None
                    waiting += grade.max_score
        info["not_graded"] = waiting
        return nb, resources


def settle(root, lab, forget, needs_review):
    """What the gradebook says after a run, beyond the scores, in one session: a student in `forget` (rejected, or
    not scored) keeps no earlier run's submission, graded copy or feedback; a submission that needs review is
    flagged (the formgrader shows the flag; the export leaves its score blank until a person clears it), the
    others are not; a 0-point task (a mark scheme's cell) is not waiting for anyone."""
    from nbgrader.api import Gradebook, MissingEntry

    where = course.layout(root)
    with course.quiet_gradebook(), Gradebook(where.db_url) as gradebook:
        for student in forget:
            try:
                gradebook.remove_submission(lab, student)
            except MissingEntry:
                pass
            for kept in (where.autograded, where.feedback):
                shutil.rmtree(kept / student / lab, ignore_errors=True)
        for submission in gradebook.assignment_submissions(lab):
            for notebook in submission.notebooks:
                notebook.flagged = submission.student_id in needs_review
                for grade in notebook.grades:
                    if grade.max_score == 0 and grade.manual_score is None:
                        grade.manual_score, grade.needs_manual_grade = 0.0, False
        gradebook.db.commit()


def _config(root, **overrides):
    config = course.nbgrader_config(root)
    for section, values in overrides.items():
        for key, value in values.items():
            setattr(getattr(config, section), key, value)
    return config


def record_lab(root, lab, scratch):
    """Make sure the gradebook knows the lab's notebook and cells (autograde scores against them) without touching
    release/: nbgrader generate_assignment records them while writing a release into `scratch`, which must come out
    as the committed release/<lab> (else the students have a notebook the source no longer makes)."""
    from nbgrader.api import Gradebook, MissingEntry

    where = course.layout(root)
    with Gradebook(where.db_url) as gradebook:
        try:
            if gradebook.find_assignment(lab).notebooks:
                return
        except MissingEntry:
            pass
    shutil.rmtree(scratch, ignore_errors=True)
    course.generate_assignment(root, lab, release_directory=scratch)
    if not course.same_release(scratch, where.release, lab):
        raise course.CourseError(
            f"release/{lab} is not what source/{lab} makes: run ./run build and hand out the new "
            f"release, or restore source/{lab} to what the students have"
        )


def record_due_date(root, lab):
    """The lab's due date from nbgrader_config.py (c.Deadlines.due = {lab: "YYYY-MM-DD HH:MM:SS Zone"}) into the
    gradebook, where nbgrader's autograde measures lateness; a lab not listed keeps the gradebook's own (set in the
    formgrader or by nbgrader db assignment add). Returns the due date (UTC) or None."""
    from nbgrader.api import Gradebook

    due = course.nbgrader_config(root).get("Deadlines", {}).get("due", {}).get(lab)
    if not due:
        return None
    try:
        when = utils.parse_utc(due)
    except (ValueError, OverflowError, TypeError) as exc:
        raise course.CourseError(
            f"c.Deadlines.due[{lab!r}] = {due!r} in nbgrader_config.py is not a time nbgrader reads: write it as "
            '"2026-12-04 17:00:00 Europe/Berlin" (a time zone name, or UTC)'
        ) from exc
    with Gradebook(course.layout(root).db_url) as gradebook:
        gradebook.update_or_create_assignment(lab, duedate=when)
    return when


def autograde_replayed(root, lab, staging_dir, outputs_dir):
    """nbgrader autograde of every staged submission, outputs replayed instead of executed.

    CheckCellMetadata is left out: pre-flight copies every cell's metadata from the release, so it is valid
    by construction, and nbgrader's check re-validates its JSON schema per cell (a third of this step's time).
    """
    traits = Autograde.class_traits()
    sanitize = [p for p in traits["sanitize_preprocessors"].default() if p is not CheckCellMetadata]
    grading = [
        ReplayOutputs if p is Execute else p
        for p in traits["autograde_preprocessors"].default()
        if p is not CheckCellMetadata
    ] + [FoldHiddenCells, CleanStudentMarkup]
    config = _config(
        root,
        CourseDirectory={"submitted_directory": str(Path(staging_dir).resolve())},
        Autograde={"sanitize_preprocessors": sanitize, "autograde_preprocessors": grading},
        ReplayOutputs={"outputs_dir": str(outputs_dir)},
    )
    students, autograded = course.students_in(staging_dir, lab), course.layout(root).autograded
    for student in students:  # what is left afterwards is this run's
        shutil.rmtree(autograded / student / lab, ignore_errors=True)
    with course.quiet_gradebook(), one_engine_per_database():
        result = NbGraderAPI(config=config).autograde(lab, "*", force=True, create=True)
    failed = course.without_output(students, autograded, lab, ".ipynb")
    return _failed_students(result, failed, "autograde", lab, Path(root) / "build" / "grading" / lab / "autograde.log")


@contextlib.contextmanager
def one_engine_per_database():
    """nbgrader opens a new Gradebook, and with it a new SQLAlchemy engine, about nine times per notebook, and a new
    engine compiles every query again (its statement cache starts empty). Within this block the Gradebooks of one
    database share one engine: its cache. Closing a Gradebook still closes its session and returns its
    connections (it disposes of the pool, not of the engine). Blocks in several threads take turns: the patch is
    nbgrader's module-wide, and one ending out of order would leave another's in place."""
    import nbgrader.api

    with _ENGINE_PATCH:
        create, engines = nbgrader.api.create_engine, {}

        def shared(url, **options):
            key = (str(url), tuple(sorted(options.items())))
            if key not in engines:
                engines[key] = create(url, **options)
            return engines[key]

        nbgrader.api.create_engine = shared
        try:
            yield
        finally:
            nbgrader.api.create_engine = create
            for engine in engines.values():
                engine.dispose()


_ENGINE_PATCH = threading.RLock()  # one_engine_per_database's turn (re-entrant: a block inside a block is fine)


def _failed_students(result, failed, step, lab, log):
    """The students nbgrader could not process (it goes on with the others). An error with none of them failing
    stops the command with nbgrader's reason in one line; its whole log is kept in `log`."""
    if result["success"]:
        return []
    said = f"{result.get('log', '')}\n{result.get('error', '')}"
    if not failed:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(said)
        raise course.failure(f"nbgrader {step} {lab} (its log: {log})", course.nbgrader_said(said), lab)
    return failed


def feedback_config(root, exporter=FeedbackExporter):
    """The course's nbgrader configuration for generate_feedback: hidden tests redacted, cells nobody has graded yet
    shown as such, student markup cleaned (graders/grading/safe_html.py), output HTML sanitised by nbconvert; pages
    written by `exporter` (nbconvert's own HTMLExporter, to compare with)."""
    defaults = GenerateFeedback.class_traits()["preprocessors"].default()
    return _config(
        root,
        GenerateFeedback={
            "preprocessors": [RedactHiddenTests, ImageSizesAsNumbers, *defaults, MarkNotGraded],
            "exporter_class": exporter,
        },
        HTMLExporter={
            "sanitize_html": True,
            "template_name": "feedback",
            "template_file": "safe.html.j2",
            "extra_template_basedirs": [str(TEMPLATES), str(NBGRADER_TEMPLATES)],
            "filters": {"safe_markup": "graders.grading.safe_html.clean"},
        },
    )


def generate_feedback(root, lab, exporter=FeedbackExporter):
    """nbgrader generate_feedback (feedback_config) for every autograded student, from the gradebook as it stands
    (hand grades and comments included, nothing regraded). Returns the students it could not do."""
    course.scripts_on_path()
    config = feedback_config(root, exporter)
    where = course.layout(root)
    students = course.students_in(where.autograded, lab)
    for student in students:
        shutil.rmtree(where.feedback / student / lab, ignore_errors=True)
    with course.quiet_gradebook(), one_engine_per_database():
        result = NbGraderAPI(config=config).generate_feedback(lab, "*", force=True)
    failed = course.without_output(students, where.feedback, lab, ".html")
    return _failed_students(
        result, failed, "generate_feedback", lab, Path(root) / "build" / "grading" / lab / "feedback.log"
    )
