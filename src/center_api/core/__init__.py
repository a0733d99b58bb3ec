"""The bottom layer: what every other package may lean on, leaning on nothing of ours.

Owns: typed settings (and `API_PREFIX`), the error hierarchy, logging with secret redaction,
Prometheus metrics, the per-request facts record (caller, megapixels, quota reservation, error
code), heap trimming, and outbound HTTP under the one URL policy (`outbound`).

May import: nothing of `center_api` outside `core`.
"""
