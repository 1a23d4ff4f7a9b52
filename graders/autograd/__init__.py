"""The autograd lab: a scalar reverse-mode engine, then the seed's exercises done with it."""
