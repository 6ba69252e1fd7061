"""What a run changed in an item, in the terms every report shows: before and after.

The terminal, the HTML report and the golden files all show the same three kinds of change -
metadata (already on :attr:`ExtensionResult.changes`), permissions and data streams - so the
readings live here once.  Permissions are flattened to one readable line per identity, which
turns the nested level/set/permission model into lines a diff can compare.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.document import stream_encoding
from harness.result import ExtensionResult

__all__ = ["StreamChange", "decode_text", "permission_diff", "permission_lines", "stream_changes"]


def permission_lines(permissions: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``(where, what)`` per identity (and per set allowing anonymous users), in the item's order.

    ``("Share / Share ACL", "allowed GROUP ACME\\Sales (Active Directory)")``
    """
    lines = []
    for i, level in enumerate(permissions):
        level_name = str(level.get("name") or f"level {i + 1}")
        for j, pset in enumerate(level.get("permissionSets") or []):
            where = f"{level_name} / {pset.get('name') or f'set {j + 1}'}"
            if pset.get("anonymousAllowed"):
                lines.append((where, "anonymous allowed"))
            for perm in pset.get("permissions") or []:
                verdict = "allowed" if perm.get("allowed", True) else "denied"
                provider = perm.get("securityProvider") or "?"
                lines.append((where, f"{verdict} {perm.get('identityType', '?')} {perm.get('identity', '?')} ({provider})"))
    return lines


def permission_diff(result: ExtensionResult) -> list[tuple[str, str, str]]:
    """``("-", where, what)`` for each permission the script removed, ``("+", where, what)`` for
    each it added, grouped by level and set; empty when it left the permissions alone."""
    if result.permissions_before is None:
        return []
    before = permission_lines(result.permissions_before)
    after = permission_lines(result.document.permissions)
    unmatched_before, unmatched_after = Counter(after), Counter(before)
    diff: list[tuple[str, str, str]] = []
    for line in before:
        if unmatched_before[line]:
            unmatched_before[line] -= 1
        else:
            diff.append(("-", *line))
    for line in after:
        if unmatched_after[line]:
            unmatched_after[line] -= 1
        else:
            diff.append(("+", *line))
    if not diff:  # same identities, other structure (levels merged, say): show the new model whole
        diff = [("-", *line) for line in before] + [("+", *line) for line in after]
    order: dict[str, int] = {}
    for where, _ in before + after:
        order.setdefault(where, len(order))
    return sorted(diff, key=lambda d: (order[d[1]], d[0] != "-"))  # by level and set, removals first


def decode_text(name: str, content: bytes) -> str | None:
    """The stream as text in Coveo's encoding for its name, or None when it is not text."""
    try:
        text = content.decode(stream_encoding(name))
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text[:4096]):
        return None  # decodes, but it is binary (a PDF, an image) all the same
    return text


def _shown(text: str | None) -> str | None:
    """Text as a person reads it: without the byte-order mark Coveo writes at the start of
    body_html (invisible, yet a character that would push a line past the terminal's width)."""
    return text[1:] if text and text[0] == "\ufeff" else text


@dataclass(frozen=True)
class StreamChange:
    """A data stream the script wrote: its content before (None when new) and after.

    ``before``/``after`` are text, or None with ``binary`` set when either is not text.
    """

    name: str
    size: int
    before: str | None
    after: str | None
    binary: bool
    replaced: bool
    """The item had a stream of this name before (from the crawler or an earlier extension)."""


def stream_changes(result: ExtensionResult) -> list[StreamChange]:
    """The streams the extension wrote, each with the newest content it replaced."""
    changes = []
    streams = result.document.data_streams
    for i, stream in enumerate(streams):
        if stream.origin != result.extension:
            continue
        older = [s for s in streams[:i] if s.name.lower() == stream.name.lower() and s.origin != result.extension]
        after = _shown(decode_text(stream.name, stream.content))
        before = _shown(decode_text(older[-1].name, older[-1].content)) if older else None
        binary = after is None or (bool(older) and before is None)
        changes.append(StreamChange(stream.name, len(stream.content), before, after, binary, bool(older)))
    return changes
