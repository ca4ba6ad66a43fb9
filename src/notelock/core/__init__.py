"""The notelock core: hashing, the lock model, recording, store, diff and replay logic.

Nothing in this package imports IPython, jupyter_server, tornado, nbconvert or
traitlets; the faces (magics, server, exporter, CLI) are thin layers over it.
"""

# a store named by a URL (NOTELOCK_STORE=s3://…) opens through remote_store,
# which registers itself with store.py when imported
from . import remote_store  # noqa: F401
