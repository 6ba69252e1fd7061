"""Batch document sources: a folder, a JSONL file, stdin; lazily, in order, with clear errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from harness.documents import count_documents, iter_documents
from harness.errors import HarnessError


def _doc(title: str) -> dict[str, object]:
    return {"uri": f"https://example.com/{title}", "metadata": {"crawler": {"title": title}}}


def test_a_folder_gives_its_json_files_sorted_without_golden_files(tmp_path: Path) -> None:
    for name in ("b", "a", "c"):
        (tmp_path / f"{name}.json").write_text(json.dumps(_doc(name)))
    (tmp_path / "a.expected.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("not a document")
    got = [(data.uri, Path(source).name) for data, source in iter_documents(tmp_path)]
    assert got == [(f"https://example.com/{n}", f"{n}.json") for n in "abc"]
    assert count_documents(tmp_path) == 3


def test_a_jsonl_file_gives_one_document_a_line_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(_doc("one")) + "\n\n" + json.dumps({"document": {"id": "two"}}) + "\n")
    got = [(data.uri, source) for data, source in iter_documents(path)]
    assert got == [("https://example.com/one", f"{path}:1"), ("two", f"{path}:3")]
    assert count_documents(path) == 2


def test_stdin_is_jsonl_and_has_no_count() -> None:
    stdin = io.StringIO(json.dumps(_doc("x")) + "\n" + json.dumps(_doc("y")) + "\n")
    assert [data.uri for data, _ in iter_documents("-", stdin=stdin)] == [
        "https://example.com/x", "https://example.com/y"]
    assert count_documents("-") is None


def test_documents_are_read_lazily(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(_doc("ok")) + "\n{not json\n")
    documents = iter_documents(path)
    data, _ = next(documents)  # the bad second line is not read yet
    assert data.uri == "https://example.com/ok"
    with pytest.raises(HarnessError, match=r"export\.jsonl:2: malformed JSON at column 2"):
        next(documents)


def test_a_bad_document_names_its_line_and_path(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text('{"document": {"id": "a", "metadata": 5}}\n')
    with pytest.raises(HarnessError, match=r"export\.jsonl:1.*metadata"):
        list(iter_documents(path))


def test_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="no such file or folder of documents"):
        list(iter_documents(tmp_path / "nowhere"))
