# Clean up the HTML body of web pages (post-conversion).
#
# Quick views show the item's body_html, and on this site every page repeats the same
# navigation menu, cookie banner and footer.  This script removes those blocks, turns relative
# links and image sources into absolute URLs (a quick view is not served from the site, so
# "../guide/install.html" would be broken there), and writes a matching body_text.
#
# Coveo recommends editing `documentdata` in a pre-conversion script when excerpts must change
# too; this script only targets what quick views show, hence post-conversion on body_html.
#
# Parameters (all optional):
#   remove_tags     comma-separated elements removed with their content (default: nav,footer,script)
#   remove_classes  comma-separated CSS classes whose elements are removed (default: cookie-banner)
#   base_url        base for relative links (default: the item's URI)

import re
from html import escape, unescape
from html.parser import HTMLParser
from urllib.parse import urljoin

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
LINK_ATTRIBUTES = {"href", "src"}
KEPT_SCHEMES = ("#", "mailto:", "tel:", "javascript:", "data:")
NOT_TEXT = {"head", "title", "style", "template"}  # their content is not body text
BLOCKS = {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "h1", "h2", "h3",
          "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"}


def csv_parameter(name, default):
    return {item.strip().lower() for item in parameters.get(name, default).split(",") if item.strip()}


class Cleaner(HTMLParser):
    """Copies HTML through, dropping unwanted elements and making links absolute."""

    def __init__(self, base, tags, classes):
        super().__init__(convert_charrefs=False)
        self.base, self.tags, self.classes = base, tags, classes
        self.html, self.text = [], []
        self.removing = 0  # depth of nested elements named like the removed one (<li>, <p> may be left open)
        self.removing_tag = None
        self.hidden = 0  # depth inside elements whose content is not body text
        self.removed = 0
        self.rewritten = 0

    def unwanted(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").lower().split())
        return tag in self.tags or bool(classes & self.classes)

    def start(self, tag, attrs, closed):
        if self.removing:
            if tag == self.removing_tag and not closed:
                self.removing += 1
            return
        if self.unwanted(tag, attrs):
            self.removed += 1
            if tag not in VOID and not closed:
                self.removing, self.removing_tag = 1, tag
            return
        if tag in NOT_TEXT and not closed:
            self.hidden += 1
        if tag in BLOCKS:
            self.text.append(" ")  # keep words of separate blocks apart in body_text
        parts = [tag]
        for name, value in attrs:
            if value is not None and name in LINK_ATTRIBUTES and not value.lower().startswith(KEPT_SCHEMES):
                absolute = urljoin(self.base, value)
                if absolute != value:
                    self.rewritten += 1
                    value = absolute
            parts.append(name if value is None else '%s="%s"' % (name, escape(value)))
        self.html.append("<%s%s>" % (" ".join(parts), " /" if closed else ""))

    def handle_starttag(self, tag, attrs):
        self.start(tag, attrs, False)

    def handle_startendtag(self, tag, attrs):
        self.start(tag, attrs, True)

    def handle_endtag(self, tag):
        if self.removing:
            if tag == self.removing_tag:
                self.removing -= 1
        elif tag not in VOID:
            if tag in NOT_TEXT and self.hidden:
                self.hidden -= 1
            if tag in BLOCKS:
                self.text.append(" ")
            self.html.append("</%s>" % tag)

    def handle_data(self, data):
        if not self.removing:
            self.html.append(data)
            if not self.hidden:
                self.text.append(data)

    def handle_entityref(self, name):
        if not self.removing:
            self.html.append("&%s;" % name)
            if not self.hidden:
                self.text.append(unescape("&%s;" % name))

    def handle_charref(self, name):
        if not self.removing:
            self.html.append("&#%s;" % name)
            if not self.hidden:
                self.text.append(unescape("&#%s;" % name))

    def handle_comment(self, data):
        if not self.removing:
            self.html.append("<!--%s-->" % data)

    def handle_decl(self, decl):
        self.html.append("<!%s>" % decl)


stream = document.get_data_stream("body_html")
if stream is None:
    document.skip("no body_html to clean")
original = stream.read()  # body_html is a text stream: read() gives str

cleaner = Cleaner(
    parameters.get("base_url") or document.uri,
    csv_parameter("remove_tags", "nav,footer,script"),
    csv_parameter("remove_classes", "cookie-banner"),
)
cleaner.feed(original)
cleaner.close()

if not cleaner.removed and not cleaner.rewritten:
    log("body_html already clean", "Debug")
else:
    body_html = document.DataStream("body_html")
    body_html.write("".join(cleaner.html))
    document.add_data_stream(body_html)
    body_text = document.DataStream("body_text")
    body_text.write(re.sub(r"\s+", " ", "".join(cleaner.text)).strip())
    document.add_data_stream(body_text)
    log("removed %d block(s), made %d link(s) absolute" % (cleaner.removed, cleaner.rewritten))
