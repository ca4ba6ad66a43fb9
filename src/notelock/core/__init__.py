"""The notelock core: hashing, the lock model, recording, store, diff and replay logic.

Nothing in this package imports IPython, jupyter_server, tornado, nbconvert or
traitlets; the faces (magics, server, exporter, CLI) are thin layers over it.
"""
