"""Full-text search planning: safe FTS5 queries, snippets, and the SQL that runs them.

Kept apart from the store so that turning arbitrary user text into a query that cannot reach
the FTS5 grammar, choosing between the word and trigram indexes, and building the filtered,
ranked SQL is pure code; the store only executes what this module plans.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CONTEXT_CHARS = 200

# -- search queries ---------------------------------------------------------------------------

_FTS_OPERATORS = frozenset({"AND", "OR", "NOT"})
_QUERY_PIECE = re.compile(r'"([^"]*)"|([^\s"]+)')
_WORD = re.compile(r"\w")
_CJK = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff]"
)


@dataclass(frozen=True)
class _Piece:
    text: str
    operator: bool = False
    prefix: bool = False

    def fts(self) -> str:
        if self.operator:
            return self.text
        return '"' + self.text.replace('"', '""') + '"' + ("*" if self.prefix else "")


def _query_pieces(query: str) -> list[_Piece]:
    """Terms, quoted phrases and the operators that sit between two of them.

    Every term is later quoted, so no user text can reach the FTS5 grammar: unmatched quotes,
    parentheses, `*`, `NEAR(`, column filters and dangling operators all become plain words
    or are dropped. A trailing `*` on a word keeps its meaning (prefix search).
    """
    pieces: list[_Piece] = []
    for match in _QUERY_PIECE.finditer(query.replace("\x00", " ")):
        phrase, word = match.groups()
        if word in _FTS_OPERATORS:
            pieces.append(_Piece(word, operator=True))
            continue
        text = (phrase if phrase is not None else word.rstrip("*")).strip()
        if _WORD.search(text):
            pieces.append(_Piece(text, prefix=phrase is None and word.endswith("*")))
    kept: list[_Piece] = []
    for i, piece in enumerate(pieces):
        if piece.operator:
            after_term = bool(kept) and not kept[-1].operator
            before_term = i + 1 < len(pieces) and not pieces[i + 1].operator
            if not (after_term and before_term):
                continue
        kept.append(piece)
    return kept


def sanitize_fts_query(query: str) -> str:
    """Any user text as a valid FTS5 query ("" when it holds no searchable term)."""
    return _fts_query(_query_pieces(query))


def _escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern written with ESCAPE '\\'."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _marked_snippet(text: str, terms: Sequence[str], width: int = 60) -> str:
    """`>>>term<<<` with some text around it, for matches found without FTS5."""
    lower = text.lower()
    for term in terms:
        start = lower.find(term.lower())
        if start >= 0:
            end = start + len(term)
            head = max(0, start - width // 2)
            tail = min(len(text), end + width // 2)
            return (
                ("..." if head else "")
                + f"{text[head:start]}>>>{text[start:end]}<<<{text[end:tail]}"
                + ("..." if tail < len(text) else "")
            )
    return text[:width]


# bm25 costs about 1.4 µs per matching row. Ranking only the newest matches keeps a query for
# a word found in half of 100,000 messages near 10 ms; fewer matches are all ranked.
_RANK_WINDOW = 5000


@dataclass(frozen=True)
class _SearchPlan:
    """Which index answers a query and how.

    Words go to the word index. CJK runs are not split into words, so queries with CJK go to
    the trigram index: terms of three or more characters through MATCH, shorter ones as LIKE
    substrings (the trigram index cannot look those up, so they are scanned newest first).
    """

    table: str
    match: str | None
    likes: tuple[str, ...]
    terms: tuple[str, ...]

    @property
    def snippet_tokens(self) -> int:
        return 64 if self.table == "messages_fts_trigram" else 24


def _search_plan(pieces: list[_Piece]) -> _SearchPlan | None:
    terms = tuple(p.text for p in pieces if not p.operator)
    if not terms:
        return None
    if not any(_CJK.search(t) for t in terms):
        return _SearchPlan("messages_fts", _fts_query(pieces), (), terms)
    short = tuple(t for t in terms if len(t) < 3)
    if not short:
        return _SearchPlan("messages_fts_trigram", _fts_query(pieces), (), terms)
    long = [p for p in pieces if not p.operator and len(p.text) >= 3]
    return _SearchPlan("messages_fts_trigram", _fts_query(long) or None, short, terms)


def _fts_query(pieces: Iterable[_Piece]) -> str:
    return " ".join(piece.fts() for piece in pieces)


def _search_sql(plan: _SearchPlan, filters: str, *, floor: bool) -> str:
    table = plan.table
    # A sub-agent's session is found through the conversation that delegated to it, whose
    # delegate_task result holds its answer, as listings show it.
    where = ["s.delegated_from IS NULL"]
    where += [f"{table} MATCH :match"] if plan.match else []
    where += [f"{table}.content LIKE :like{i} ESCAPE '\\'" for i in range(len(plan.likes))]
    if floor:
        where.append(f"{table}.rowid >= :floor")
    snippet = (
        f"snippet({table}, 0, '>>>', '<<<', '...', {plan.snippet_tokens})"
        if plan.match
        else f"{table}.content"
    )
    return (
        f"SELECT m.id, m.session_id, m.role, {snippet} AS snippet, m.timestamp, m.tool_name, "
        "s.source, s.model, s.started_at AS session_started "
        f"FROM {table} JOIN messages AS m ON m.id = {table}.rowid "
        f"JOIN sessions AS s ON s.id = m.session_id WHERE {' AND '.join(where)}{filters} "
        f"ORDER BY {'rank' if plan.match else f'{table}.rowid DESC'} LIMIT :limit OFFSET :offset"
    )


def _search_filters(
    source_filter: str | Iterable[str] | None,
    exclude_sources: Iterable[str] | None,
    role_filter: str | Iterable[str] | None,
) -> tuple[str, dict[str, Any]]:
    sql, params = "", {}
    for name, column, values, negate in (
        ("src", "s.source", _as_list(source_filter), False),
        ("xsrc", "s.source", _as_list(exclude_sources), True),
        ("role", "m.role", _as_list(role_filter), False),
    ):
        if values:
            keys = [f"{name}{i}" for i in range(len(values))]
            marks = ", ".join(f":{k}" for k in keys)
            sql += f" AND {column} {'NOT IN' if negate else 'IN'} ({marks})"
            params.update(zip(keys, values, strict=True))
    return sql, params


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _in_clause(column: str, values: list[str], *, negate: bool = False) -> str:
    marks = ", ".join("?" * len(values))
    return f" AND {column} {'NOT IN' if negate else 'IN'} ({marks})"
