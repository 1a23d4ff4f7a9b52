"""The __lab__ lab: a numerically stable softmax (scaffolded by `python -m graders new-lab`: make it yours)."""

POSITION = 0  # new-lab writes the lab's place in the course here
PLOT_CELL = "plot"  # the cell whose figure the student and the hand-grader look at
FIGURE_CELLS = ()  # markdown cells carrying a drawn figure
