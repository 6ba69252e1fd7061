# Classify intranet items (pre-conversion, first in the source's pipeline).
#
# Sets `doctype` from the title and the URL: policy, handbook, form, or page; and `filetype`
# lower-cased without its dot ("PDF", ".pdf" -> "pdf", guessed from the URL when missing).
# Later extensions use `doctype` in their conditions, so they run only on the items they are for.

import posixpath
from urllib.parse import urlparse

KINDS = (("policy", "policy"), ("handbook", "handbook"), ("guide", "handbook"), ("form", "form"))


def newest(name):
    values = document.get_meta_data_value(name)
    return str(values[-1]).strip() if values else ""


path = urlparse(document.uri).path.lower()
title = newest("title").lower()
doctype = next((kind for word, kind in KINDS if word in title or word in path), "page")

filetype = newest("filetype").lower().lstrip(".")
if not filetype:
    filetype = posixpath.splitext(path)[1].lstrip(".") or "html"

document.add_meta_data({"doctype": doctype, "filetype": filetype})
log("doctype=%s filetype=%s" % (doctype, filetype), "Debug")
