"""CSV files of thresholds with every cell's position, so mistakes read file:line:col.

A small reader for RFC 4180 CSV (comma, double quotes, "" inside quotes) that keeps
each field's line and column; `#` lines and blank lines are skipped. The first row
names the columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from controlplane.errors import ControllerError, Problem
from controlplane.model import Where


@dataclass(frozen=True)
class Cell:
    """One field's text and where it starts."""

    text: str
    where: Where


@dataclass(frozen=True)
class Row:
    """One data row: cells by column name (missing trailing cells are absent)."""

    where: Where
    cells: dict[str, Cell]

    def get(self, name: str) -> Cell | None:
        """The cell of column `name`, None if the row has none or it is empty."""
        c = self.cells.get(name)
        return c if c is not None and c.text.strip() else None


def _split(line: str, path: str, lineno: int, problems: list[Problem]) -> list[Cell]:
    cells: list[Cell] = []
    i, n = 0, len(line)
    while True:
        start = i
        if i < n and line[i] == '"':
            i += 1
            buf = []
            while True:
                if i >= n:
                    problems.append(Problem(Where(path, lineno, start + 1), "", "unclosed quote"))
                    break
                if line[i] == '"':
                    if i + 1 < n and line[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(line[i])
                i += 1
            text = "".join(buf)
            if i < n and line[i] != ",":
                where = Where(path, lineno, i + 1)
                problems.append(Problem(where, "", "text after a closing quote"))
                while i < n and line[i] != ",":
                    i += 1
        else:
            while i < n and line[i] != ",":
                i += 1
            text = line[start:i]
        cells.append(Cell(text.strip(), Where(path, lineno, start + 1)))
        if i >= n:
            return cells
        i += 1  # the comma


def read_csv(path: Path) -> tuple[list[Cell], list[Row], list[Problem]]:
    """(header cells, data rows, problems) of the CSV file at `path`."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (spreadsheet export) is no text
    except (OSError, UnicodeDecodeError) as e:
        raise ControllerError(f"{path}: cannot read: {e}") from None
    problems: list[Problem] = []
    header: list[Cell] = []
    rows: list[Row] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = _split(line, str(path), lineno, problems)
        if not header:
            header = cells
            continue
        where = Where(str(path), lineno, 1)
        if len(cells) > len(header):
            extra = cells[len(header)]
            problems.append(
                Problem(extra.where, "", f"{len(cells)} fields, the header has {len(header)}")
            )
        rows.append(Row(where, {h.text: c for h, c in zip(header, cells, strict=False)}))
    if not header:
        problems.append(Problem(Where(str(path), 1, 1), "", "empty file: expected a header row"))
    return header, rows, problems


def require_columns(
    header: list[Cell], path: Path, needed: list[tuple[str, ...]]
) -> tuple[dict[str, str], list[Problem]]:
    """For each tuple of accepted names, the one the header has: (wanted -> actual,
    problems for those it lacks)."""
    have = {c.text for c in header}
    at = header[0].where if header else Where(str(path), 1, 1)
    out: dict[str, str] = {}
    problems = []
    for names in needed:
        found = next((n for n in names if n in have), None)
        if found is None:
            alt = " or ".join(f"'{n}'" for n in names)
            problems.append(Problem(at, "", f"no column {alt}"))
        else:
            out[names[0]] = found
    return out, problems
