"""Full-text search over every product's reviews: review titles, review texts, product titles.

What a user types is never handed to the database's query language. :func:`parse_search` keeps
only words (runs of letters and digits) and "quoted phrases", and the FTS5 or tsquery text is
built from those, so any input (``"``, ``AND(``, ``-``, ``*``, ``NEAR``) is a plain search and
never a syntax error. Every word or phrase must match, in the review's title or text or in its
product's title; the last word also matches as a prefix while it is being typed (no space
after it yet).

Backends: SQLite through the FTS5 table of migration 0005_search (ranked by bm25: a match in
the review title counts most, in the product title least); PostgreSQL through the GIN
expression indexes of the same migration (ranked by ts_rank with the same order of weights);
any other database by LIKE, unranked.

On SQLite the index may be behind the reviews: an import leaves its new reviews to be indexed
later (migration 0009_search_backlog; indexing took about a third of a large import's time).
:func:`search_reviews` first indexes them (:func:`catch_up_search_index`, in the caller's
transaction), so its answer is always over every review; :func:`search_backlog` says how many
are waiting (the app says "catching up" while a search indexes them, and after an import indexes
them itself, a step at a time: ``catch_up_search_index(session, limit=N)``).

Every function takes a Session and never commits; results are plain dataclasses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..errors import StorageError
from ..models import Product, Review
from ..records import SearchHit, SearchResult

__all__ = ["ParsedSearch", "parse_search", "search_reviews", "search_backlog", "catch_up_search_index", "mark_unindexed",
           "MAX_LIMIT"]

MAX_QUERY_CHARS = 500
"""Longer input is cut (a search box, not a document)."""
MAX_TERMS = 32
"""Words beyond this many are ignored (each one is a join in the index)."""
MIN_PREFIX = 2
"""A last word shorter than this matches whole, not as a prefix: "k*" would rank most of the catalogue."""
MAX_LIMIT = 500
SNIPPET_WORDS = 24

_WORD = re.compile(r"[^\W_]+")  # what FTS5's unicode61 and PostgreSQL's parser take as word characters
_ENDS_IN_WORD = re.compile(r"[^\W_]\Z")
START, STOP = "\x02", "\x03"  # snippet markers around matched words (control characters: never typed)
_BM25 = "bm25(4.0, 1.0, 0.5)"  # weights of the columns title, text, product_title


@dataclass(frozen=True)
class ParsedSearch:
    """A search as storage runs it.

    ``groups``: each a single word or the words of a quoted phrase (lower case); all must match.
    ``prefix``: the last word of the last group matches every word it begins.
    """

    groups: tuple[tuple[str, ...], ...]
    prefix: bool = False

    @property
    def empty(self) -> bool:
        return not self.groups

    @property
    def words(self) -> list[str]:
        return [w for g in self.groups for w in g]

    def fts5(self) -> str:
        """The SQLite FTS5 MATCH expression: each group a quoted string (implicit AND)."""
        parts = ['"' + " ".join(g).replace('"', '""') + '"' for g in self.groups]
        if self.prefix:
            parts[-1] += "*"
        return " ".join(parts)

    def tsquery(self, any_word: bool = False) -> str:
        """The PostgreSQL ``to_tsquery`` text: groups joined by ``&`` (phrases by ``<->``); with
        ``any_word`` every word joined by ``|`` (a looser query that the indexes can answer)."""
        last = len(self.groups) - 1

        def lexeme(word: str, is_prefix: bool) -> str:
            return "'" + word.replace("'", "''").replace("\\", "\\\\") + "'" + (":*" if is_prefix else "")

        groups = []
        for gi, g in enumerate(self.groups):
            groups.append([lexeme(w, self.prefix and gi == last and wi == len(g) - 1) for wi, w in enumerate(g)])
        if any_word:
            return " | ".join(lex for g in groups for lex in g)
        return " & ".join("(" + " <-> ".join(g) + ")" if len(g) > 1 else g[0] for g in groups)


def parse_search(query: str) -> ParsedSearch:
    """Words and "quoted phrases" of ``query`` (an unclosed quote runs to the end); see the module
    docstring. Everything else (operators, punctuation, brackets) only separates words."""
    if not isinstance(query, str):
        raise TypeError(f"search text must be a string, not {type(query).__name__}")
    query = query[:MAX_QUERY_CHARS]
    groups: list[tuple[str, ...]] = []
    n_words = 0
    truncated = False
    for i, part in enumerate(query.split('"')):
        words = _WORD.findall(part.lower())
        if n_words + len(words) > MAX_TERMS:
            words, truncated = words[:MAX_TERMS - n_words], True
        n_words += len(words)
        if not words:
            continue
        if i % 2:  # inside quotes: one phrase
            groups.append(tuple(words))
        else:
            groups.extend((w,) for w in words)
    prefix = (not truncated and bool(groups) and _ENDS_IN_WORD.search(query) is not None
              and len(groups[-1][-1]) >= MIN_PREFIX)
    return ParsedSearch(tuple(groups), prefix)


def _pieces(marked: str) -> tuple[tuple[str, bool], ...]:
    """``"a \\x02b\\x03 c"`` -> ``(("a ", False), ("b", True), (" c", False))``."""
    out: list[tuple[str, bool]] = []
    for chunk in re.split(f"({START}[^{STOP}]*{STOP})", marked or ""):
        if not chunk:
            continue
        if chunk.startswith(START) and chunk.endswith(STOP):
            out.append((chunk[1:-1], True))
        else:
            out.append((chunk.replace(START, "").replace(STOP, ""), False))
    return tuple(out)


def search_reviews(session: Session, query: str, limit: int = 50, offset: int = 0) -> SearchResult:
    """Reviews matching ``query`` (see :func:`parse_search`) across every product, best first:
    ``limit`` hits from ``offset``, each with its product and a snippet around the match."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_LIMIT}, not {limit}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, not {offset}")
    parsed = parse_search(query)
    if parsed.empty:
        return SearchResult(query, (), offset, False)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        catch_up_search_index(session)
    run = {"sqlite": _search_sqlite, "postgresql": _search_postgresql}.get(dialect, _search_like)
    hits = run(session, parsed, limit + 1, offset)
    return SearchResult(query, tuple(hits[:limit]), offset, len(hits) > limit)


_UNINDEXED_FROM = text("SELECT unindexed_from FROM search_state WHERE id = 1")
_CATCH_UP = (
    text("INSERT INTO reviews_fts(rowid, title, text, product_title) "
         "SELECT r.id, r.title, r.text, p.title FROM reviews AS r JOIN products AS p ON p.id = r.product_pk "
         "WHERE r.id >= (SELECT unindexed_from FROM search_state WHERE id = 1) ORDER BY r.id"),
    text("UPDATE search_state SET unindexed_from = NULL WHERE id = 1"),
)


def _unindexed_from(session: Session):
    if session.get_bind().dialect.name != "sqlite":
        return None  # PostgreSQL keeps its indexes itself
    return session.execute(_UNINDEXED_FROM).scalar()


def search_backlog(session: Session) -> int:
    """How many reviews the full-text index does not hold yet (SQLite, after an import; 0 elsewhere)."""
    w = _unindexed_from(session)
    if w is None:
        return 0
    return int(session.execute(text("SELECT count(*) FROM reviews WHERE id >= :w"), {"w": w}).scalar() or 0)


def mark_unindexed(session: Session) -> None:
    """SQLite: every review inserted from now on in this transaction is left out of the full-text
    index until :func:`catch_up_search_index` (an import calls this before its inserts; a mark
    already set stays, as it covers the new rows too). Takes the write lock."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(text("UPDATE search_state SET unindexed_from = (SELECT coalesce(max(id), 0) + 1 FROM reviews) "
                         "WHERE id = 1 AND unindexed_from IS NULL"))


def catch_up_search_index(session: Session, limit: int | None = None) -> int:
    """Index the reviews an import left out (see the module docstring) in the caller's
    transaction; returns how many (0: nothing to do, no write). What they hold now is indexed:
    the triggers left them alone meanwhile. All of them and the mark cleared, or with ``limit``
    the ``limit`` oldest and the mark moved past them (the app catches up in such steps, each its
    own short transaction, after an import)."""
    w = _unindexed_from(session)
    if w is None:
        return 0
    try:
        if limit is None:
            n = search_backlog(session)
            for stmt in _CATCH_UP:
                session.execute(stmt)
            return n
        last = session.execute(text("SELECT max(id) FROM (SELECT id FROM reviews WHERE id >= :w ORDER BY id "
                                    "LIMIT :n)"), {"w": w, "n": max(1, int(limit))}).scalar()
        n = 0
        if last is not None:
            n = session.execute(text("SELECT count(*) FROM reviews WHERE id >= :w AND id <= :last"),
                                {"w": w, "last": last}).scalar()
            session.execute(text(_CATCH_UP_RANGE), {"w": w, "last": last})
            more = session.execute(text("SELECT 1 FROM reviews WHERE id > :last LIMIT 1"), {"last": last}).first()
            if more is not None:
                session.execute(text("UPDATE search_state SET unindexed_from = :next WHERE id = 1"),
                                {"next": last + 1})
                return n
        session.execute(_CATCH_UP[1])
        return n
    except OperationalError as exc:
        if "readonly" not in str(exc.orig).lower():
            raise
        raise StorageError(f"the search index does not hold the {search_backlog(session):,} reviews of a recent "
                           "import yet, and this database is open read-only, so they cannot be added; open it once "
                           "with write access (or run reviewscope-engine index-search on it), then search") from None


_CATCH_UP_RANGE = ("INSERT INTO reviews_fts(rowid, title, text, product_title) "
                   "SELECT r.id, r.title, r.text, p.title FROM reviews AS r JOIN products AS p ON p.id = r.product_pk "
                   "WHERE r.id >= :w AND r.id <= :last ORDER BY r.id")


_SQLITE = text(f"""
    SELECT m.pk, m.snip, m.rank, r.review_id, r.title, p.id, p.product_id, p.title
    FROM (SELECT rowid AS pk, rank,
                 snippet(reviews_fts, -1, char(2), char(3), char(8230), {SNIPPET_WORDS}) AS snip
          FROM reviews_fts WHERE reviews_fts MATCH :q AND rank MATCH '{_BM25}'
          ORDER BY rank LIMIT :limit OFFSET :offset) AS m
    JOIN reviews AS r ON r.id = m.pk
    JOIN products AS p ON p.id = r.product_pk
    ORDER BY m.rank, m.pk
""")


def _search_sqlite(session: Session, parsed: ParsedSearch, limit: int, offset: int) -> list[SearchHit]:
    # FTS5 sorts by rank itself, so snippets are only made for the rows of this page.
    rows = session.execute(_SQLITE, {"q": parsed.fts5(), "limit": limit, "offset": offset})
    return [SearchHit(pk, rid, rtitle or "", ppk, pid, ptitle or "", _pieces(snip), -float(rank))
            for pk, snip, rank, rid, rtitle, ppk, pid, ptitle in rows]


_HEADLINE_OPTIONS = (f"StartSel={START}, StopSel={STOP}, MaxWords={SNIPPET_WORDS}, MinWords=8, ShortWord=1, "
                     "MaxFragments=2, FragmentDelimiter=\" \u2026 \"")
_POSTGRESQL = text("""
    WITH q AS (SELECT to_tsquery('simple', :q) AS q, to_tsquery('simple', :qany) AS qany),
    page AS (
        SELECT r.id, r.review_id, r.title, r.text, p.id AS ppk, p.product_id, p.title AS ptitle,
               ts_rank(setweight(to_tsvector('simple', r.title), 'A') || setweight(to_tsvector('simple', r.text), 'C')
                       || setweight(to_tsvector('simple', p.title), 'D'), q.q, 1) AS score
        FROM reviews AS r JOIN products AS p ON p.id = r.product_pk CROSS JOIN q
        WHERE (to_tsvector('simple', r.title || ' ' || r.text) @@ q.qany
               OR r.product_pk IN (SELECT id FROM products WHERE to_tsvector('simple', title) @@ q.qany))
          AND (to_tsvector('simple', r.title || ' ' || r.text) || to_tsvector('simple', p.title)) @@ q.q
        ORDER BY score DESC, r.id
        LIMIT :limit OFFSET :offset
    )
    SELECT page.id, page.review_id, page.title, page.ppk, page.product_id, page.ptitle, page.score,
           ts_headline('simple', page.text, q.q, :options), ts_headline('simple', page.title, q.q, :options),
           ts_headline('simple', page.ptitle, q.q, :options)
    FROM page CROSS JOIN q
    ORDER BY page.score DESC, page.id
""")


def _search_postgresql(session: Session, parsed: ParsedSearch, limit: int, offset: int) -> list[SearchHit]:
    # The first condition is what the GIN indexes answer (any word, in the review or its
    # product); the second is the search itself, over the review and its product together.
    rows = session.execute(_POSTGRESQL, {"q": parsed.tsquery(), "qany": parsed.tsquery(any_word=True),
                                         "limit": limit, "offset": offset, "options": _HEADLINE_OPTIONS})
    hits = []
    for pk, rid, rtitle, ppk, pid, ptitle, score, in_text, in_title, in_product in rows:
        # the snippet of the text, unless only the title or the product's title holds a match
        marked = next((m for m in (in_text, in_title, in_product) if m and START in m), in_text)
        hits.append(SearchHit(pk, rid, rtitle or "", ppk, pid, ptitle or "", _pieces(marked), float(score)))
    return hits


def _search_like(session: Session, parsed: ParsedSearch, limit: int, offset: int) -> list[SearchHit]:
    """Other databases: every word as a substring (phrases as written), oldest review first."""
    conds = []
    for g in parsed.groups:
        like = "%" + " ".join(g) + "%"  # words hold no LIKE wildcard (letters and digits only)
        conds.append(or_(Review.title.ilike(like), Review.text.ilike(like), Product.title.ilike(like)))
    q = (select(Review.id, Review.review_id, Review.title, Review.text, Product.id, Product.product_id, Product.title)
         .join(Product, Product.id == Review.product_pk).where(and_(*conds))
         .order_by(Review.id).limit(limit).offset(offset))
    words = parsed.words
    return [SearchHit(pk, rid, rtitle or "", ppk, pid, ptitle or "", _marked_window(rtext or rtitle or "", words), 0.0)
            for pk, rid, rtitle, rtext, ppk, pid, ptitle in session.execute(q)]


def _marked_window(body: str, words: list[str], width: int = 160) -> tuple[tuple[str, bool], ...]:
    """A window of ``body`` around the first word found, the words marked (LIKE search)."""
    low = body.lower()
    found = [i for i in (low.find(w) for w in words) if i >= 0]
    start = max(0, min(found) - width // 4) if found else 0
    window = body[start:start + width]
    pattern = re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)), re.IGNORECASE)
    marked = pattern.sub(lambda m: START + m.group(0) + STOP, window)
    return _pieces(("\u2026" if start else "") + marked + ("\u2026" if start + width < len(body) else ""))

