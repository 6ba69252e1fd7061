# Split the `revision` metadata ("3.2") into numbers (pre-conversion).
#
# Adds `revisionmajor` and `revisionminor` as integers, so that the search page can sort and
# facet on them.  A revision that is not MAJOR.MINOR numbers is a data error in the source system:
# the script lets it fail, and the source's actionOnError (SKIP_EXTENSION) indexes the item
# without the two fields.

revision = str(document.get_meta_data_value("revision")[-1]).strip().lstrip("vV")
major, minor = (int(part) for part in (revision.split(".") + ["0"])[:2])

document.add_meta_data({"revisionmajor": major, "revisionminor": minor})
