"""extensions/body_html_rewrite: navigation and footer removed, links made absolute, body_text rewritten."""

from __future__ import annotations

import json

from harness.cli import main

from ..conftest import EXTENSIONS
from .helpers import comments, written_stream

EXT = EXTENSIONS / "body_html_rewrite"
DOCS = EXT / "documents"


def page(html: str, uri: str = "https://docs.acme.example/a/b/page.html") -> dict:
    return {"uri": uri, "dataStreams": {"body_html": html}}


def test_install_guide_loses_menu_banner_scripts_and_footer(ipe):
    result = ipe.run(EXT, DOCS / "install_guide.json")
    assert result.status == "SUCCESS", result.reason
    written = written_stream(result, "body_html")
    assert written.startswith(b"\xef\xbb\xbf")  # Coveo writes body_html as UTF-8 with a BOM
    html = written.decode("utf-8-sig")
    for gone in ("<nav", "top-menu", "cookie-banner", "We use cookies", "<footer", "&copy;", "<script", "menu.js"):
        assert gone not in html
    assert "<main>" in html and "<h1>Install the agent</h1>" in html
    assert comments(result) == [("NORMAL", "removed 4 block(s), made 3 link(s) absolute")]


def test_relative_links_become_absolute_and_others_are_kept(ipe):
    result = ipe.run(EXT, DOCS / "install_guide.json")
    html = written_stream(result, "body_html").decode("utf-8")
    assert 'href="https://docs.acme.example/agent/downloads/agent.html"' in html  # ../downloads/agent.html
    assert 'src="https://docs.acme.example/agent/guide/img/agent-setup.png"' in html
    assert 'href="https://docs.acme.example/static/site.css"' in html
    assert 'href="#configure"' in html
    assert 'href="mailto:support@acme.example"' in html
    assert 'href="https://community.acme.example/agent"' in html
    assert "Fish &amp; chips." in html  # entities are copied as they were


def test_body_text_matches_the_cleaned_html(ipe):
    result = ipe.run(EXT, DOCS / "install_guide.json")
    text = written_stream(result, "body_text").decode("utf-16-le")  # Coveo's body_text encoding
    assert text == (
        "Install the agent Download the installer from the downloads page, then follow Configure. "
        "Configure Questions? Write to support or see the community. Fish & chips."
    )


def test_nested_and_void_elements_inside_removed_blocks(ipe):
    html = (
        '<div><nav><div><nav>inner</nav><img src="x.png"><br/></div>menu</nav>'
        '<p>kept <a href="c.html">c</a></p><footer>bye<hr></footer><p>after</p></div>'
    )
    result = ipe.run(EXT, page(html))
    assert written_stream(result, "body_html").decode("utf-8-sig") == (
        '<div><p>kept <a href="https://docs.acme.example/a/b/c.html">c</a></p><p>after</p></div>'
    )
    assert written_stream(result, "body_text").decode("utf-16-le") == "kept c after"


def test_sloppy_html_inside_a_removed_block_does_not_swallow_the_page(ipe):
    html = "<nav><ul><li>Home<li>Products</ul><p>unclosed</nav><p>Content</p>"
    result = ipe.run(EXT, page(html))
    assert written_stream(result, "body_html").decode("utf-8-sig") == "<p>Content</p>"


def test_parameters_choose_what_is_removed_and_the_base_url(ipe):
    html = '<aside class="Related Promo">ads</aside><nav>menu</nav><a href="/x">x</a>'
    result = ipe.run(
        EXT, page(html), parameters={"remove_tags": "aside", "remove_classes": "", "base_url": "https://cdn.acme.example/"}
    )
    assert written_stream(result, "body_html").decode("utf-8-sig") == '<nav>menu</nav><a href="https://cdn.acme.example/x">x</a>'


def test_already_clean_compressed_test_api_body_is_left_alone(ipe):
    result = ipe.run(EXT, DOCS / "already_clean.json")
    assert result.status == "SUCCESS"
    assert [s.origin for s in result.document.data_streams] == ["Extension tester"]
    assert comments(result) == [("DEBUG", "body_html already clean")]


def test_item_without_body_html_is_skipped(ipe):
    result = ipe.run(EXT, DOCS / "pdf_without_html.json")
    assert (result.status, result.reason) == ("SKIPPED", "no body_html to clean")


def test_ipe_run_json_carries_the_new_streams_under_the_extensions_origin(capsys):
    assert main(["run", str(EXT), "--document", str(DOCS / "install_guide.json"), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    origins = {entry["origin"]: sorted(entry["values"]) for entry in answer["document"]["dataStreams"]}
    assert origins == {"crawler": ["body_html"], "body_html_rewrite": ["body_html", "body_text"]}


def test_ipe_run_on_its_documents_exits_0(capsys):
    assert main(["run", str(EXT)]) == 0
    assert "3 documents: 1 SKIPPED, 2 SUCCESS" in capsys.readouterr().out
