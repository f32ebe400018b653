"""Wildcard matching (``*`` and ``?``) and policy variables (``${aws:username}``).

IAM matches actions case-insensitively and resources case-sensitively; ``*`` matches any run of
characters (slashes and colons included) and ``?`` exactly one. Patterns are compiled once and
cached because the same policy is evaluated on every request to a bucket.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache

ContextValue = str | list[str]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# ${*}, ${?} and ${$} stand for the literal characters, so a policy can match them literally.
_LITERALS = {"*": "*", "?": "?", "$": "$"}


class MissingVariable(Exception):
    """A policy variable whose key is absent from the request and that has no default."""


@lru_cache(maxsize=4096)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches ``pattern`` with IAM's ``*``/``?`` wildcards."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _compile(pattern, ignore_case).fullmatch(value) is not None


def has_variables(text: str) -> bool:
    return "${" in text


def substitute(
    text: str, lookup: Callable[[str], ContextValue | None], *, escape_wildcards: bool = False
) -> str:
    """Replace ``${key}`` and ``${key, 'default'}`` with the request's values.

    Raises ``MissingVariable`` when a key is absent and has no default: AWS then treats the
    element as not matching. With ``escape_wildcards`` the substituted values' own ``*``/``?``
    are kept literal (a user named ``a*`` must not match every user).
    """

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        if inner in _LITERALS:
            return _LITERALS[inner] if not escape_wildcards else "\0" + inner
        key, default = inner, None
        if "," in inner:
            key, _, rest = inner.partition(",")
            key, rest = key.strip(), rest.strip()
            if len(rest) >= 2 and rest[0] == rest[-1] == "'":
                default = rest[1:-1]
        value = lookup(key)
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
        if value is None:
            if default is None:
                raise MissingVariable(key)
            value = default
        if escape_wildcards:
            return "".join("\0" + c if c in "*?" else c for c in value)
        return value

    return _VARIABLE.sub(replace, text)


def match_substituted(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Match a pattern produced by ``substitute(..., escape_wildcards=True)``."""
    if "\0" not in pattern:
        return wildcard_match(pattern, value, ignore_case=ignore_case)
    parts = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\0":
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    flags = (re.IGNORECASE if ignore_case else 0) | re.DOTALL
    return re.fullmatch("".join(parts), value, flags) is not None


class LowerKeys(dict[str, ContextValue]):
    """A request context whose keys are already lower-cased (built once, looked up often)."""


def lookup_in(context: Mapping[str, ContextValue]) -> Callable[[str], ContextValue | None]:
    """A case-insensitive key lookup over a request context (condition keys ignore case)."""
    lowered = (
        context if isinstance(context, LowerKeys) else {k.lower(): v for k, v in context.items()}
    )
    return lambda key: lowered.get(key.lower())
