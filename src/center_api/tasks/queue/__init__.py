"""Where queued task ids wait: the port and its adapters (in-process, SAQ on Redis).

Part of `tasks`.
"""
