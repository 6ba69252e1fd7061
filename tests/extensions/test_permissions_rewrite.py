"""extensions/permissions_rewrite: AD groups mapped to e-mail groups, contractors denied, open items closed."""

from __future__ import annotations

import json

from harness.cli import main
from harness.python310 import INTERPRETER_WARNING_PREFIX

from ..conftest import EXTENSIONS
from .helpers import comments

EXT = EXTENSIONS / "permissions_rewrite"
DOCS = EXT / "documents"
EMAIL = "Email Security Provider"


def perm(identity: str, kind: str = "GROUP", provider: str = EMAIL, allowed: bool = True) -> dict:
    return {"identity": identity, "identityType": kind, "securityProvider": provider, "allowed": allowed}


def test_groups_are_mapped_level_by_level_and_contractors_denied_on_restricted_items(ipe):
    result = ipe.run(EXT, DOCS / "sales_forecast.json")
    assert result.status == "SUCCESS", result.reason
    assert list(result.document.permissions) == [
        {
            "name": "Share",
            "permissionSets": [
                {
                    "name": "Share ACL",
                    "anonymousAllowed": False,
                    "permissions": [
                        perm("sales-emea@acme.example"),
                        perm("ACME\\Finance", provider="Active Directory"),  # not in the map: kept
                        perm("contractors@acme.example", allowed=False),
                    ],
                }
            ],
        },
        {
            "name": "Folder",
            "permissionSets": [
                {
                    "name": "Folder ACL",
                    "anonymousAllowed": False,
                    "permissions": [
                        perm("engineering@acme.example"),
                        perm("sales-emea@acme.example"),
                        perm("jdoe@acme.example", kind="USER", allowed=False),
                        perm("contractors@acme.example", allowed=False),
                    ],
                }
            ],
        },
    ]
    assert comments(result) == [("NORMAL", "mapped 3 group(s) to Email Security Provider; denied contractors")]
    assert [w for w in result.warnings if not w.startswith(INTERPRETER_WARNING_PREFIX)] == []


def test_unrestricted_item_only_gets_its_groups_mapped(ipe):
    document = {
        "uri": "file://fileshare.acme.example/hr/benefits.pdf",
        "metadata": {"crawler": {"confidentiality": "internal"}},
        "permissions": [
            {"name": "", "permissionSets": [{"name": "", "permissions": [
                perm("acme\\hr", provider="Active Directory"),  # the map is case-insensitive
                perm("ACME\\HR", kind="USER", provider="Active Directory"),  # a user, not a group: kept
            ]}]}
        ],
    }
    result = ipe.run(EXT, document)
    assert result.status == "SUCCESS"
    identities = [p["identity"] for p in result.document.permissions[0]["permissionSets"][0]["permissions"]]
    assert identities == ["hr@acme.example", "ACME\\HR"]
    assert comments(result) == [("NORMAL", "mapped 1 group(s) to Email Security Provider")]


def test_item_without_permissions_is_given_to_employees_only(ipe):
    result = ipe.run(EXT, DOCS / "exported_page.json")
    assert result.status == "SUCCESS"
    assert list(result.document.permissions) == [
        {"name": "", "permissionSets": [{"name": "", "anonymousAllowed": False, "permissions": [perm("employees@acme.example")]}]}
    ]
    assert comments(result) == [("NOTIFICATION", "no permissions on the item: allowed employees@acme.example only")]


def test_restricted_item_without_permissions_also_denies_contractors(ipe):
    document = {"uri": "https://intranet.acme.example/x", "metadata": {"crawler": {"confidentiality": "RESTRICTED"}}}
    result = ipe.run(EXT, document, parameters={"employees_group": "staff@acme.example"})
    entries = result.document.permissions[0]["permissionSets"][0]["permissions"]
    assert entries == [perm("staff@acme.example"), perm("contractors@acme.example", allowed=False)]


def test_public_item_is_skipped_and_left_open(ipe):
    result = ipe.run(EXT, DOCS / "public_page.json")
    assert result.status == "SKIPPED"
    assert result.reason == "public item without permissions: left open"
    assert result.document.permissions == ()


def test_group_map_and_provider_come_from_parameters(ipe):
    document = {
        "id": "file://share/x",
        "permissions": [{"name": "L", "permissionSets": [{"name": "S", "permissions": [
            perm("CONTOSO\\Ops", provider="Active Directory")]}]}],
    }
    result = ipe.run(
        EXT, document, parameters={"group_map": "CONTOSO\\Ops=ops@contoso.example", "target_provider": "Okta"}
    )
    assert result.document.permissions[0]["permissionSets"][0]["permissions"] == [
        perm("ops@contoso.example", provider="Okta")
    ]


def test_ipe_run_json_shows_the_rewritten_permissions(capsys):
    assert main(["run", str(EXT), "--document", str(DOCS / "exported_page.json"), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["document"]["permissions"][0]["permissionSets"][0]["permissions"] == [perm("employees@acme.example")]


def test_ipe_run_on_its_documents_exits_0(capsys):
    assert main(["run", str(EXT)]) == 0
    assert "3 documents: 1 SKIPPED, 2 SUCCESS" in capsys.readouterr().out
