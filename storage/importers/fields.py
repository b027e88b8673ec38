"""Field validation shared by the importers: each check takes a parsed row (a dict) and a
field name and returns the clean value or raises :class:`FieldError`, which the format's loop
turns into a :class:`~storage.errors.CatalogueError` naming the file and the line."""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any, Optional

from ..models import SPLITS

__all__ = [
    "FieldError", "MAX_ID_CHARS", "MAX_CATEGORY_CHARS", "MAX_URL_CHARS", "MAX_VOTES", "MAX_ABS_TIME",
    "parse_json_object", "type_name", "req_id", "opt_str", "votes", "rating", "label", "unix_time", "split",
    "str_list", "check_extra", "ISO_TIME_HELP", "parse_iso_time", "time_value", "vote_count",
]

MAX_ID_CHARS = 200
MAX_CATEGORY_CHARS = 300
MAX_URL_CHARS = 4000
MAX_VOTES = 10**9
"""Vote counts above this are taken for corrupt data (the largest real count is in the thousands)."""
MAX_ABS_TIME = 2**53

_BAD_ID_CHARS = re.compile(r"[\r\n\t\x00]")


class FieldError(Exception):
    """A bad value in one field; the format loop adds the file and the line."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise FieldError(k, "the field appears twice in the same object")
            seen.add(k)
    return d


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)
_PLAIN_DECODER = json.JSONDecoder()


def parse_json_object(text: str, *, unique_keys: bool = True) -> dict:
    """One JSON line: a JSON object, duplicate keys refused (``unique_keys``: our own
    catalogue's rule; files of other sources keep JSON's last-one-wins). Raises FieldError."""
    try:
        obj = (_DECODER if unique_keys else _PLAIN_DECODER).decode(text)
    except json.JSONDecodeError as exc:
        raise FieldError(None, f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise FieldError(None, "invalid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise FieldError(None, f"expected a JSON object {{...}}, got {type_name(obj)}")
    return obj


def type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _check_text(name: str, s: str) -> str:
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError(name, "contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)") from None
    return s


def req_id(obj: dict, name: str) -> str:
    if name not in obj:
        raise FieldError(name, "required field is missing")
    v = obj[name]
    if not isinstance(v, str):
        raise FieldError(name, f"must be a string, got {type_name(v)}")
    if not v.strip():
        raise FieldError(name, "must not be empty")
    if len(v) > MAX_ID_CHARS:
        raise FieldError(name, f"is longer than {MAX_ID_CHARS} characters")
    if _BAD_ID_CHARS.search(v):
        raise FieldError(name, "must not contain tabs, line breaks or NUL characters")
    return _check_text(name, v)


def opt_str(obj: dict, name: str, *, required: bool = False, max_chars: int | None = None) -> str:
    if name not in obj:
        if required:
            raise FieldError(name, "required field is missing")
        return ""
    v = obj[name]
    if v is None:
        if required:
            raise FieldError(name, "must be a string, got null")
        return ""
    if not isinstance(v, str):
        raise FieldError(name, f"must be a string, got {type_name(v)}")
    if max_chars is not None and len(v) > max_chars:
        raise FieldError(name, f"is longer than {max_chars} characters")
    return _check_text(name, v)


def _whole_number(name: str, v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FieldError(name, f"must be {what}, got {type_name(v)}")
    if isinstance(v, float):
        if not math.isfinite(v):
            raise FieldError(name, f"must be {what}, got {v!r}")
        if not v.is_integer():
            raise FieldError(name, f"must be {what}, got {v!r}")
        v = int(v)
    return v


def votes(obj: dict, name: str, *, required: bool) -> Optional[int]:
    if name not in obj or obj[name] is None:
        if required:
            raise FieldError(name, "required field is missing" if name not in obj else "must be a whole number >= 0, got null")
        return None
    v = _whole_number(name, obj[name], "a whole number >= 0")
    if v < 0:
        raise FieldError(name, f"must be >= 0, got {v}")
    if v > MAX_VOTES:
        raise FieldError(name, f"is implausibly large ({v}; at most {MAX_VOTES:,})")
    return v


def rating(obj: dict, name: str = "rating") -> Optional[float]:
    v = obj.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FieldError(name, f"must be a number from 1 to 5, got {type_name(v)}")
    if not math.isfinite(v) or not 1 <= v <= 5:
        raise FieldError(name, f"must be a number from 1 to 5, got {v!r}")
    return float(v)


def label(obj: dict, name: str = "label") -> Optional[int]:
    v = obj.get(name)
    if v is None:
        return None
    v = _whole_number(name, v, "a whole number from 0 to 4")
    if not 0 <= v <= 4:
        raise FieldError(name, f"must be from 0 to 4, got {v}")
    return v


ISO_TIME_HELP = (
    "whole unix seconds or an ISO 8601 date (2021-01-10) or date-time (2021-01-10T14:30, 2021-01-10 14:30:05, "
    "2021-01-10T14:30:05.250Z, 2021-01-10T14:30:05+02:00)"
)

_ISO_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?)(?P<tz>Z|[+-]\d{2}:?\d{2})?)?"
)


def parse_iso_time(name: str, s: str) -> int:
    """ISO 8601 date or date-time -> unix seconds. A date alone is midnight UTC; a date-time
    without an offset is UTC; ``Z`` or ``+HH:MM`` / ``+HHMM`` offsets are honoured; fractions
    of a second are dropped. Anything else raises FieldError naming what is accepted."""
    text = s.strip()
    m = _ISO_RE.fullmatch(text)
    if m is None:
        raise FieldError(name, f"must be {ISO_TIME_HELP}; got {s[:40]!r}")
    date, clock, tz = m.group("date", "time", "tz")
    try:
        if clock is None:
            d = dt.datetime.fromisoformat(date)
        else:
            clock = clock.replace(",", ".")
            if "." in clock:  # fromisoformat before 3.11 wants 3 or 6 digits
                head, frac = clock.split(".")
                clock = f"{head}.{frac.ljust(6, '0')}"
            d = dt.datetime.fromisoformat(f"{date}T{clock}")
    except ValueError as exc:
        raise FieldError(name, f"is not a valid date or time ({exc}); got {s[:40]!r}") from None
    if tz is None or tz == "Z":
        d = d.replace(tzinfo=dt.timezone.utc)
    else:
        sign = -1 if tz[0] == "-" else 1
        hh, mm = int(tz[1:3]), int(tz[-2:])
        if hh > 23 or mm > 59:
            raise FieldError(name, f"has an invalid UTC offset {tz!r}; got {s[:40]!r}")
        d = d.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=hh, minutes=mm)))
    return int(d.timestamp())


def time_value(name: str, v: Any) -> Optional[int]:
    """A time field's value: None/"" -> None; whole unix seconds (a number, or digits in a
    string as CSV cells hold them); an ISO 8601 date or date-time string (:func:`parse_iso_time`)."""
    if v is None:
        return None
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return None
        if s.lstrip("-").isdigit():
            v = int(s)
        else:
            try:
                f = float(s)
            except ValueError:
                return parse_iso_time(name, s)
            v = f if math.isfinite(f) else s
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FieldError(name, f"must be {ISO_TIME_HELP}; got {type_name(v)}")
    v = _whole_number(name, v, "whole unix seconds")
    if abs(v) > MAX_ABS_TIME:
        raise FieldError(name, f"is out of range ({v})")
    return v


def unix_time(obj: dict, name: str = "time") -> Optional[int]:
    """The ``time`` field: whole unix seconds or an ISO 8601 date / date-time string."""
    return time_value(name, obj.get(name))


_VOTES_RE = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")


def vote_count(name: str, v: Any) -> Optional[int]:
    """A vote count as the review datasets write it: a whole number, or a string of digits,
    optionally with thousands separators ("1,234"); None or "" -> None. Anything else (a
    fraction, "1.5k", a negative number) raises FieldError."""
    if v is None:
        return None
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return None
        if not _VOTES_RE.fullmatch(s):
            raise FieldError(name, f"must be a whole number of votes (digits, thousands separated by commas "
                                   f"allowed), got {v[:40]!r}")
        v = int(s.replace(",", ""))
    return votes({name: v}, name, required=False)


def split(obj: dict, name: str = "split") -> Optional[str]:
    v = obj.get(name)
    if v is None or v == "":
        return None
    if v not in SPLITS:
        raise FieldError(name, f"must be one of train, dev, test; got {v!r}")
    return v


def str_list(obj: dict, name: str, *, max_chars: int = MAX_URL_CHARS) -> list[str]:
    v = obj.get(name)
    if v is None or v == []:
        return []
    if not isinstance(v, list):
        raise FieldError(name, f"must be a list of strings, got {type_name(v)}")
    for i, s in enumerate(v):
        if not isinstance(s, str):
            raise FieldError(name, f"entry {i} must be a string, got {type_name(s)}")
        if len(s) > max_chars:
            raise FieldError(name, f"entry {i} is longer than {max_chars} characters")
        _check_text(name, s)
    return list(v)


def check_extra(name: str, v: Any) -> Any:
    """Extra fields are kept as JSON: refuse NaN/Infinity and broken strings in them."""
    t = type(v)  # fast paths for what JSON gives (exact types): ASCII strings, numbers, flat dicts and lists
    if t is str:
        return v if v.isascii() else _check_text(name, v)
    if t is bool or t is int or v is None:
        return v
    if t is dict or t is list:
        for x in (v.values() if t is dict else v):
            if type(x) is not str or not x.isascii():
                check_extra(name, x)
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise FieldError(name, f"{v!r} is not valid JSON")
    elif isinstance(v, str):
        _check_text(name, v)
    elif isinstance(v, list):
        for x in v:
            check_extra(name, x)
    elif isinstance(v, dict):
        for k, x in v.items():
            check_extra(name, x)
    return v
