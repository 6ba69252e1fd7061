# Keep drafts, confidential documents and junk files out of the index (pre-conversion).
#
# The intranet source crawls everything, including work in progress and files that must never
# be searchable.  Rejected items are not indexed at all (and are removed if they were).
#
# An item is rejected when:
#   * its `status` (or `documentstatus`) is one of the draft statuses, or its `draft` flag is true;
#   * its `confidentiality` (or `classification`) is one of the confidential levels;
#   * its `filetype` is in the deny list.
# An item with none of these metadata is skipped: this script has nothing to decide on, and a
# later extension or the source's own rules apply.
#
# Parameters (all optional, comma-separated, case-insensitive):
#   draft_statuses       (default: draft,in review,work in progress)
#   confidential_levels  (default: confidential,secret,internal only)
#   denied_filetypes     (default: tmp,bak,log,lnk)


def csv_parameter(name, default):
    return {item.strip().lower() for item in parameters.get(name, default).split(",") if item.strip()}


def get_safe_meta_data(*names):
    """The newest value of the first of `names` the item has, lower-cased, or ''."""
    for name in names:
        values = document.get_meta_data_value(name)
        if values:
            return str(values[-1]).strip().lower()
    return ""


status = get_safe_meta_data("status", "documentstatus")
draft_flag = get_safe_meta_data("draft")
confidentiality = get_safe_meta_data("confidentiality", "classification")
filetype = get_safe_meta_data("filetype").lstrip(".")

if status in csv_parameter("draft_statuses", "draft,in review,work in progress") or draft_flag in ("true", "yes", "1"):
    log("REJECT: draft (status %r)" % (status or "draft"), "Notification")
    document.reject("draft: not published yet")

if confidentiality in csv_parameter("confidential_levels", "confidential,secret,internal only"):
    log("REJECT: %s" % confidentiality, "Notification")
    document.reject("classified %s" % confidentiality)

if filetype in csv_parameter("denied_filetypes", "tmp,bak,log,lnk"):
    log("REJECT: file type %s" % filetype, "Notification")
    document.reject("file type %s is not indexed" % filetype)

if not (status or draft_flag or confidentiality or filetype):
    document.skip("no status, classification or file type to decide on")

log("kept: status=%s, confidentiality=%s, filetype=%s" % (status or "-", confidentiality or "-", filetype or "-"), "Debug")
