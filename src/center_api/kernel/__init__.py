"""The inference kernel: one per process, shared by every slice.

Owns: the model store (manifest, pull, verify), ONNX Runtime sessions (lazy, idle-evicted), the
scheduler (inference slots within a memory budget, a bounded wait queue, timeouts) and image
I/O (`imaging`: safe decode, scaling, encode; one `OutputFormat`, one media-type map).

May import: `core`.
"""
