# Title and date normalisation for web crawler items (pre-conversion).
#
# Crawled page titles carry the site's branding (" | Acme Docs"), stray whitespace and, for
# pages written by some teams, ALL CAPS or all lower case.  Dates come in whatever format the
# page's <meta> tags use.  This script cleans the title and writes the first date it can read
# to the `date` metadata in ISO 8601 (UTC), which Coveo's Date fields parse.
#
# Parameters (all optional):
#   site_suffixes  comma-separated site names to strip from the end of titles
#   acronyms       comma-separated words kept upper case when a title is re-cased
#   date_fields    comma-separated metadata names to read the date from, first found wins

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "nor", "of", "on", "or", "the", "to", "vs", "with"}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y")


def csv_parameter(name, default):
    return [item.strip() for item in parameters.get(name, default).split(",") if item.strip()]


def first_value(name):
    values = document.get_meta_data_value(name)
    return str(values[0]) if values else ""


def strip_site_suffix(title, sites):
    for site in sites:
        pattern = r"\s*[|\-\u2013\u2014:]+\s*" + re.escape(site) + r"\s*$"
        stripped = re.sub(pattern, "", title, flags=re.IGNORECASE)
        if stripped and stripped != title:
            return stripped
    return title


def recase(title, acronyms):
    """Title-case a title that is all upper or all lower case; leave deliberate casing alone."""
    letters = [c for c in title if c.isalpha()]
    if not letters or not (title.isupper() or title.islower()):
        return title
    keep = {a.upper() for a in acronyms}
    words = title.split(" ")
    out = []
    for i, word in enumerate(words):
        if word.upper() in keep:
            out.append(word.upper())
        elif 0 < i < len(words) - 1 and word.lower() in SMALL_WORDS:
            out.append(word.lower())
        else:
            out.append(word[:1].upper() + word[1:].lower())
    return " ".join(out)


def to_iso(text):
    """ISO 8601 in UTC for the date formats crawled pages use, or None."""
    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(text)  # RFC 2822, as in HTTP Last-Modified
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        for fmt in DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


original = first_value("title")
if not original.strip():
    document.skip("no title to normalise")

title = re.sub(r"\s+", " ", original).strip()
title = strip_site_suffix(title, csv_parameter("site_suffixes", "Acme Docs,Acme"))
title = recase(title, csv_parameter("acronyms", "API,FAQ,HTML,PDF,SDK,URL"))
changes = {}
if title != original:
    changes["title"] = title
    log("title normalised")

for field in csv_parameter("date_fields", "published,article:published_time,last-modified"):
    raw = first_value(field)
    if not raw:
        continue
    iso = to_iso(raw)
    if iso is None:
        log("cannot read the date in '%s': %r" % (field, raw), "Warning")
    else:
        changes["date"] = iso
        log("date normalised from '%s': %s" % (field, iso))
    break

if changes:
    document.add_meta_data(changes)
else:
    log("nothing to normalise", "Debug")
