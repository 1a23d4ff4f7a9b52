"""How long the reference solution takes to run, cell by cell: python benchmarks/notebook_time.py [lab] [repeats]

Reports the kernel start and the time of all cells (the figure the backprop issue's ≤ 3 s target is about),
median over the repeats, and the slowest cells. Not a test: timings vary with the machine.
"""

import statistics
import sys
import time

import nbformat
from nbclient import NotebookClient

from graders.course import ROOT


def run_once(path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    started = time.perf_counter()
    cell_times = {}
    with client.setup_kernel():
        kernel_ready = time.perf_counter()
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                before = time.perf_counter()
                client.execute_cell(cell, index)
                cell_times[cell.id] = time.perf_counter() - before
                errors = [o for o in cell.outputs if o.output_type == "error"]
                if errors:
                    raise RuntimeError(f"cell {cell.id} failed: {errors[0].ename}: {errors[0].evalue}")
    return kernel_ready - started, cell_times


def main(lab="backprop", repeats=5):
    path = ROOT / "source" / lab / f"{lab}.ipynb"
    runs = [run_once(path) for _ in range(int(repeats))]
    starts = [start for start, _ in runs]
    totals = [sum(cells.values()) for _, cells in runs]
    per_cell = {cell: statistics.median(run[1][cell] for run in runs) for cell in runs[0][1]}
    print(f"{lab}: {len(runs)} runs of the reference solution (source notebook, hidden tests included)")
    print(f"  kernel start        median {statistics.median(starts):.2f} s")
    print(
        f"  all cells           median {statistics.median(totals):.2f} s   (min {min(totals):.2f}, max {max(totals):.2f})"
    )
    for cell, seconds in sorted(per_cell.items(), key=lambda item: -item[1])[:4]:
        print(f"  slowest: {cell:<24} {seconds:.2f} s")


if __name__ == "__main__":
    main(*sys.argv[1:])
