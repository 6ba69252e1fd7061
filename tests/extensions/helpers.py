"""Small readers of ExtensionResult shared by the example extensions' tests."""

from __future__ import annotations

from harness import ExtensionResult


def comments(result: ExtensionResult) -> list[tuple[str, str]]:
    """The run's logs as (severity, text) pairs, in order."""
    return [(entry.severity, entry.comment) for entry in result.logs]


def written_stream(result: ExtensionResult, name: str) -> bytes:
    """The content of the stream ``name`` that the extension itself wrote (its origin is the extension's name)."""
    found = [s.content for s in result.document.data_streams if s.name == name and s.origin == result.extension]
    assert found, f"the extension wrote no {name} stream"
    return found[-1]
