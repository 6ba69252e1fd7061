# Who a policy or handbook is for (post-conversion).
#
# Parameter `audiences` maps each owning department to its audience, comma-separated
# `department=audience` pairs ("hr=everyone,finance=department:finance").  A policy with no owning
# department must not be published: the item is rejected.  A department the map does not know is a
# configuration gap: the script fails (KeyError), and the source's actionOnError (REJECT_DOCUMENT)
# keeps the item out rather than showing it to the wrong people.

audiences = {}
for pair in parameters.get("audiences", "").split(","):
    department, _, audience = pair.partition("=")
    if department.strip():
        audiences[department.strip().lower()] = audience.strip()

owners = [str(v).strip().lower() for v in document.get_meta_data_value("department") if str(v).strip()]
if not owners:
    document.reject("no owning department: a policy must name its owner before it is published")

audience = audiences[owners[-1]]
document.add_meta_data({"audience": audience})
log("audience %s (owner %s)" % (audience, owners[-1]), "Normal")
