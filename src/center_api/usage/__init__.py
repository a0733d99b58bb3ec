"""Usage: a record of every slice call, and reports over those records.

Owns: `recorder` (buffered batches of usage rows, written off the request path), `repository`
(the row access), `reports` (listing and per-tool statistics, served by the tools slice) and
`ratings` (scores of results, one per owner and result).

May import: `core` and `db`.
"""
