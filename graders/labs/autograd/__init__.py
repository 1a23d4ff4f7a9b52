"""The autograd lab: a scalar reverse-mode engine, then the seed's exercises done with it."""

POSITION = 2
PLOT_CELL = "results"  # the cell whose figure the hand-graded answer is about
FIGURE_CELLS = ()  # markdown cells carrying a drawn figure
