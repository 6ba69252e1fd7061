# Permissions rewrite for the intranet file share (pre-conversion).
#
# The file share's items are secured with Active Directory groups (ACME\Sales-EMEA), but
# people sign in to the search page with their e-mail address: Coveo resolves them through the
# Email Security Provider.  This script:
#   1. maps every Active Directory group it knows to the matching e-mail group, keeping the
#      permission model's levels and sets as they are (unknown groups and users are kept too);
#   2. denies the contractors group on items classified "restricted", in every set;
#   3. gives items that come with no permissions at all (exported pages) to employees only,
#      unless the item is explicitly public, in which case it is left alone (skipped).
# Be careful with permission scripts: a mistake exposes documents to the wrong people.  Every
# path of this one is covered by tests.
#
# Parameters (all optional):
#   group_map          comma-separated SOURCE=TARGET pairs of group names
#   target_provider    security provider of the mapped groups (default: Email Security Provider)
#   employees_group    the group given items without permissions (default: employees@acme.example)
#   contractors_group  the group denied on restricted items (default: contractors@acme.example)

DEFAULT_MAP = "ACME\\Sales-EMEA=sales-emea@acme.example,ACME\\Engineering=engineering@acme.example,ACME\\HR=hr@acme.example"

provider = parameters.get("target_provider", "Email Security Provider")
employees = parameters.get("employees_group", "employees@acme.example")
contractors = parameters.get("contractors_group", "contractors@acme.example")
group_map = {}
for pair in parameters.get("group_map", DEFAULT_MAP).split(","):
    source, sep, target = pair.partition("=")
    if sep and source.strip() and target.strip():
        group_map[source.strip().lower()] = target.strip()


def first_value(name):
    values = document.get_meta_data_value(name)
    return str(values[0]).strip().lower() if values else ""


def mapped(permission):
    target = group_map.get(str(permission.identity).lower())
    if permission.identity_type != "group" or target is None:
        return permission, False
    return document.Permission(target, "group", provider), True


levels = document.get_permissions()
restricted = first_value("confidentiality") == "restricted"

if not levels:
    if first_value("ispublic") == "true":
        document.skip("public item without permissions: left open")
    document.add_allowed(employees, "group", provider)
    if restricted:
        document.add_denied(contractors, "group", provider)
    log("no permissions on the item: allowed %s only" % employees, "Notification")
else:
    count = 0
    new_levels = []
    for level in levels:
        new_sets = []
        for permission_set in level.permission_sets:
            allowed, denied = [], []
            for permission in permission_set.allowed_permissions:
                permission, changed = mapped(permission)
                count += changed
                allowed.append(permission)
            for permission in permission_set.denied_permissions:
                permission, changed = mapped(permission)
                count += changed
                denied.append(permission)
            if restricted:
                denied.append(document.Permission(contractors, "group", provider))
            new_sets.append(document.PermissionSet(permission_set.name, permission_set.allow_anonymous, allowed, denied))
        new_levels.append(document.PermissionLevel(level.name, new_sets))
    document.set_permissions(new_levels)
    log("mapped %d group(s) to %s%s" % (count, provider, "; denied contractors" if restricted else ""))
