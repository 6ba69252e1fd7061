# Who a policy or handbook is for (post-conversion).
#
# A policy owned by a company-wide department (parameter `company_wide`, comma-separated) is for
# everyone; any other is for its own department.  A policy with no owning department must not be
# published: the item is rejected.

company_wide = {d.strip().lower() for d in parameters.get("company_wide", "hr").split(",") if d.strip()}
owners = [str(v).strip().lower() for v in document.get_meta_data_value("department") if str(v).strip()]

if not owners:
    document.reject("no owning department: a policy must name its owner before it is published")

owner = owners[-1]
audience = "everyone" if owner in company_wide else "department:" + owner
document.add_meta_data({"audience": audience})
log("audience %s (owner %s)" % (audience, owner), "Normal")
