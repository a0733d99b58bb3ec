#!/usr/bin/env python3
"""The README's table of error codes, made from the classes in ``center_api.core.errors``.

    .venv/bin/python scripts/error_codes.py           # print the table
    .venv/bin/python scripts/error_codes.py --write   # put it into README.md, between markers

``tests/unit/test_readme.py`` fails when the README's table and the classes disagree.
"""

import inspect
import re
import sys
from pathlib import Path

from center_api.core import errors

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- error-codes:start -->", "<!-- error-codes:end -->"


def rows() -> list[tuple[str, int, str]]:
    """``(code, status, meaning)`` for every code, in the order the classes are declared.

    The meaning is the first line of the docstring of the first class with that code that no
    other class with the same code derives from (``ValidationError``, not ``DomainError``).
    """
    seen: dict[tuple[str, int], str] = {}
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)]
    declared = sorted(
        (c for c in classes if issubclass(c, errors.AppException) and c.__module__ == errors.__name__),  # noqa: E501
        key=lambda c: inspect.getsourcelines(c)[1],
    )
    for kind in declared:
        key = (kind.code, kind.status_code)
        same = [c for c in declared if (c.code, c.status_code) == key and c is not kind]
        if key not in seen and not any(issubclass(c, kind) for c in same):
            seen[key] = (inspect.getdoc(kind) or "").splitlines()[0].rstrip(".")
    return [(code, status, meaning) for (code, status), meaning in seen.items()]


def table() -> str:
    """The Markdown table, sorted by status then code."""
    lines = ["| code | status | meaning |", "|---|---|---|"]
    for code, status, meaning in sorted(rows(), key=lambda row: (row[1], row[0])):
        lines.append(f"| `{code}` | {status} | {meaning.replace('|', '/')} |")
    return "\n".join(lines)


def readme_table(text: str) -> str | None:
    """The table between the markers in ``text`` (None without markers)."""
    match = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), text, re.S)
    return match.group(1).strip("\n") if match else None


def main() -> int:
    """Print the table, or write it into the README with ``--write``."""
    if "--write" not in sys.argv:
        print(table())
        return 0
    text = README.read_text()
    if readme_table(text) is None:
        print(f"README.md has no {START} … {END} markers", file=sys.stderr)
        return 1
    new = re.sub(
        re.escape(START) + r"\n.*?" + re.escape(END),
        lambda _: f"{START}\n{table()}\n{END}",
        text,
        flags=re.S,
    )
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
