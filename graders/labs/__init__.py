"""The labs, found by looking: one package per lab here, and nothing outside a lab's folder names a lab.

What a lab package holds is the contract in docs/adding-a-lab.md (`python -m graders new-lab NAME` writes one that
works); its notebook is source/<lab>/<lab>.ipynb, where nbgrader looks for it.
"""

import importlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = ("__init__.py", "checks.py", "reference.py", "probes.py", "hidden.py", "samples.py")


def part(lab, name=None):
    """The lab's package, or one of its modules (checks, reference, probes, hidden, samples)."""
    return importlib.import_module(f"{__name__}.{lab}" + (f".{name}" if name else ""))


def _discover():
    """Every folder here with a lab's parts, in the order the course teaches them (each lab's POSITION); _scaffold
    (what new-lab copies) is not a lab."""
    names = [
        folder.name
        for folder in HERE.iterdir()
        if not folder.name.startswith("_") and all((folder / p).is_file() for p in PARTS)
    ]
    return tuple(sorted(names, key=lambda lab: (part(lab).POSITION, lab)))


LABS = _discover()


def trusting_checks(module_name):
    """The module __getattr__ of a lab's hidden.py: `checks.<name>(function)` as the hidden test cells call it under
    plain `nbgrader autograde`, the lab's check run in the notebook's own process (the trusting path)."""
    lab = module_name.split(".")[-2]

    def __getattr__(name):
        from graders.judging import run_in_process

        checks = part(lab, "checks")
        if name in checks.GRADED:
            return lambda function: run_in_process(getattr(checks, name), function, name, lab, part(lab, "probes"))
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__
