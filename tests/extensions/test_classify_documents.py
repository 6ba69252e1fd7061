"""extensions/classify_documents: every intranet item gets a doctype and a clean filetype."""

from __future__ import annotations

import pytest

from ..conftest import EXTENSIONS

EXT = EXTENSIONS / "classify_documents"
DOCS = EXT / "documents"


def item(uri: str, **metadata: str) -> dict:
    return {"uri": uri, "metadata": {"crawler": metadata}}


def test_a_policy_pdf(ipe):
    result = ipe.run(EXT, DOCS / "travel_policy.json")
    assert result.status == "SUCCESS"
    assert result.added_metadata == {"doctype": ["policy"], "filetype": ["pdf"]}


def test_a_form_without_filetype_gets_it_from_the_url(ipe):
    result = ipe.run(EXT, DOCS / "expense_form.json")
    assert result.added_metadata == {"doctype": ["form"], "filetype": ["docx"]}


@pytest.mark.parametrize(("uri", "title", "doctype"), [
    ("https://intranet.acme.example/handbook/", "Welcome", "handbook"),
    ("https://intranet.acme.example/it/setup.html", "Laptop setup guide", "handbook"),
    ("https://intranet.acme.example/news/2024.html", "Company news", "page"),
])
def test_doctype_from_title_or_path(ipe, uri, title, doctype):
    result = ipe.run(EXT, item(uri, title=title))
    assert result.metadata("doctype") == [doctype]


def test_a_page_without_extension_is_html(ipe):
    assert ipe.run(EXT, item("https://intranet.acme.example/about")).metadata("filetype") == ["html"]
