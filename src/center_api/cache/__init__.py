"""The result cache: a slice's answer kept by content, so a repeated call costs a lookup.

Owns: `keys` (the key: input bytes, tool, operation, normalised options, the installed models'
checksums, the image settings and a fingerprint of the code), `backends` (a bounded in-memory
LRU, or Redis when processes share results) and `results` (`ResultCache`: get, put, and
`through`, which computes a miss once however many identical calls arrive together).

May import: `core`, `kernel` and `registry`.
"""
