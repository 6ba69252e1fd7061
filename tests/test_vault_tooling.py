"""`ipe vault`: the vault keys a script reads (statically), snapshot placeholders, POST /vaultentries bodies."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.snapshot import Placeholder, find_placeholders, load_snapshot
from harness.vault import LocalVault, VaultEntry
from harness.vault_api import MASK, extension_payload, find_entry, missing_entries, snapshot_payload
from harness.vault_usage import vault_keys

# --- Coveo's "Create a vault entry" example (docs.coveo.com/en/m3a90243), transcribed -------------
# The snapshot fragment, completed into a snapshot: only the `// ...` elisions are left out.
SEED_KEY = "originorganizationid_iynO7X-configuration.parameters.secretKey.value"
SEED_SNAPSHOT = {
    "resources": {
        "SOURCE": [
            {
                "model": {
                    "configuration": {
                        "parameters": {
                            "secretKey": {
                                "sensitive": True,
                                "value": "{{ VAULT.originorganizationid_iynO7X-configuration.parameters.secretKey.value }}",
                            }
                        },
                    }
                },
                "resourceName": "originorganizationid_iynO7X",
            }
        ]
    }
}
# The answer of GET /vaultentries/missing for that snapshot.
SEED_MISSING = {"missingVaultEntries": ["originorganizationid_iynO7X-configuration.parameters.secretKey.value"]}
# The POST /vaultentries request payload, key order as printed.
SEED_PAYLOAD = {
    "attributeReferences": [
        {
            "jsonPath": "configuration.parameters.secretKey.value",
            "resourceName": "originorganizationid_iynO7X",
            "resourceType": "SOURCE",
        }
    ],
    "key": "originorganizationid_iyn07x-configuration.parameters.secretKey.value",
    "value": "s8h#kj%43s",
    "organizationId": "destinationorganizationid",
    "valueType": "STRING",
    "vaultVisibilityType": "OBFUSCATED",
}
SEED_VALUE = SEED_PAYLOAD["value"]  # the page's own made-up credential


def write(path: Path, content: object) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def keys_of(script: str) -> dict[str, list[int]]:
    return vault_keys(textwrap.dedent(script).lstrip("\n"), "extension.py").keys


# --- static key finding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "script, expected",
    [
        ("x = vault_parameters['pim_password']", {"pim_password": [1]}),
        ('x = vault_parameters["pim_password"]', {"pim_password": [1]}),
        ("x = vault_parameters.get('token')", {"token": [1]}),
        ("x = vault_parameters.get('token', 'fallback')", {"token": [1]}),
        ("x = vault_parameters.pop('token', None)", {"token": [1]}),
        ("if 'flag' in vault_parameters:\n    pass", {"flag": [1]}),
        ("if 'flag' not in vault_parameters:\n    pass", {"flag": [1]}),
        ("vp = vault_parameters\nx = vp['aliased']", {"aliased": [2]}),
        ("vp = vault_parameters\nv2 = vp\nx = v2.get('twice')", {"twice": [3]}),
        ("vp: dict = vault_parameters\nx = 'k' in vp", {"k": [2]}),
        ("vault_parameters['counter'] += 'x'", {"counter": [1]}),
        ("def auth():\n    return ('user', vault_parameters['pw'])", {"pw": [2]}),
    ],
    ids=["single-quotes", "double-quotes", "get", "get-default", "pop", "in", "not-in", "alias",
         "alias-of-alias", "annotated-alias", "augmented", "in-function"],
)
def test_each_form_of_reading_a_key_is_found(script, expected):
    usage = vault_keys(script, "extension.py")
    assert usage.keys == expected
    assert usage.dynamic == []


def test_every_line_reading_a_key_is_listed_and_keys_are_sorted():
    usage = vault_keys(
        "a = vault_parameters['zeta']\nb = vault_parameters.get('alpha')\nc = vault_parameters['zeta']\n",
        "extension.py",
    )
    assert list(usage.keys) == ["alpha", "zeta"]
    assert usage.keys["zeta"] == [1, 3]


def test_writes_and_other_dicts_are_not_reads():
    assert keys_of("""
        vault_parameters['written'] = 'x'
        del vault_parameters['deleted']
        p = parameters['not_vault']
        q = other.get('nor_this')
        r = 'nope' in parameters
        if vault_parameters:
            pass
        s = 'yes' if not vault_parameters else 'no'
    """) == {}
    assert vault_keys("vault_parameters['w'] = 1\nif vault_parameters:\n    pass\n", "e.py").dynamic == []


def test_keys_built_at_run_time_are_dynamic_with_their_line():
    usage = vault_keys(
        textwrap.dedent("""
            name = parameters['vault_key']
            a = vault_parameters[name]
            b = vault_parameters[f"{name}_password"]
            c = vault_parameters.get('pim_' + 'password')
            d = vault_parameters['static']
            helper(vault_parameters)
            for key in vault_parameters:
                pass
            e = vault_parameters.get(*args)
        """).lstrip("\n"),
        "extension.py",
    )
    assert usage.keys == {"static": [5]}
    assert usage.dynamic == [2, 3, 4, 6, 7, 9]


def test_a_syntax_error_names_the_file_and_the_line():
    with pytest.raises(HarnessError) as caught:
        vault_keys("x = vault_parameters['a']\n\ndef broken(:\n    pass\n", "extensions/pim/extension.py")
    assert str(caught.value).startswith("extensions/pim/extension.py:3: syntax error")


# --- snapshot placeholders -------------------------------------------------------------------------


def resource(model: dict, name: str = "mysource_x1Y2z3") -> dict:
    return {"resourceName": name, "parents": {}, "model": model}


@pytest.mark.parametrize(
    "text", ["{{ VAULT.k1 }}", "{{VAULT.k1}}", "{{  VAULT.k1  }}", "{{\tVAULT.k1 }}", "Bearer {{ VAULT.k1 }}"]
)
def test_placeholder_spacing_variants(text):
    found = find_placeholders({"resources": {"SOURCE": [resource({"token": text})]}}, "snap.json")
    assert found == [Placeholder("k1", "token", "mysource_x1Y2z3", "SOURCE", "snap.json")]


def test_not_placeholders():
    model = {"a": "{ VAULT.k }", "b": "{{ vault.k }}", "c": "{{ SECRET.k }}", "d": "VAULT.k", "e": 42, "f": None}
    assert find_placeholders({"resources": {"SOURCE": [resource(model)]}}) == []


def test_nested_and_list_paths_every_placeholder_in_document_order():
    snapshot = {
        "metadata": {"schemaVersion": "v1"},
        "resources": {
            "SOURCE": [
                resource({
                    "configuration": {
                        "parameters": {"clientSecret": {"sensitive": True, "value": "{{ VAULT.web-secret }}"}},
                        "headers": [
                            {"name": "X-Plain", "value": "plain"},
                            {"name": "Authorization", "value": "{{VAULT.user}}:{{VAULT.pass}}"},
                        ],
                    },
                    "matrix": [["{{ VAULT.deep }}"]],
                }, name="web_abc"),
            ],
            "EXTENSION": [resource({"content": "print('no vault here')"}, name="ext_1")],
        },
    }
    found = find_placeholders(snapshot, "snap.json")
    assert [(p.key, p.json_path, p.resource_name) for p in found] == [
        ("web-secret", "configuration.parameters.clientSecret.value", "web_abc"),
        ("user", "configuration.headers[1].value", "web_abc"),
        ("pass", "configuration.headers[1].value", "web_abc"),
        ("deep", "matrix[0][0]", "web_abc"),
    ]


def test_the_bare_resources_object_and_a_folder_are_accepted(tmp_path):
    bare = {"SOURCE": [resource({"secret": "{{ VAULT.a }}"})]}
    assert [p.key for p in find_placeholders(bare)] == ["a"]
    folder = tmp_path / "project" / "resources"
    folder.mkdir(parents=True)
    write(folder / "SOURCE.json", {"resources": bare})
    write(folder / "EXTENSION.json", {"resources": {"EXTENSION": [resource({"x": "{{ VAULT.b }}"}, "e")]}})
    assert [p.key for p in load_snapshot(tmp_path / "project")] == ["b", "a"]  # files in name order


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "$: expected a snapshot object"),
        ({"hello": "world"}, "$: not a Coveo snapshot"),
        ({"resources": []}, "$.resources: expected an object of resource type -> list of resources"),
        ({"resources": {"SOURCE": {}}}, "$.resources.SOURCE: expected a list of SOURCE resources"),
        ({"resources": {"SOURCE": ["x"]}}, "$.resources.SOURCE[0]: expected a resource"),
        ({"resources": {"SOURCE": [{"model": {}}]}}, "$.resources.SOURCE[0].resourceName: expected a non-empty string"),
        ({"resources": {"SOURCE": [resource({}), {"resourceName": "s", "model": "{{ VAULT.k }}"}]}},
         "$.resources.SOURCE[1].model: expected an object"),
        ({"SOURCE": [{"resourceName": 3, "model": {}}]}, "$.SOURCE[0].resourceName: expected a non-empty string"),
    ],
)
def test_wrong_shapes_are_one_line_naming_the_file_and_json_path(data, message):
    with pytest.raises(HarnessError) as caught:
        find_placeholders(data, "snap.json")
    assert str(caught.value).startswith(f"snap.json: {message}")
    assert "\n" not in str(caught.value)


# --- payloads (pure) -------------------------------------------------------------------------------


def seed_entry(value: str = SEED_VALUE) -> VaultEntry:
    return VaultEntry(SEED_KEY, value, "vault.json")


def test_the_seed_snapshot_gives_the_seed_payload():
    references = find_placeholders(SEED_SNAPSHOT, "snapshot.json")
    payload = snapshot_payload(SEED_KEY, "destinationorganizationid", references, seed_entry(), reveal=True)
    # The page's payload spells its key "..._iyn07x-..." (zero, lower case) while its own placeholder,
    # its resourceName and its GET /vaultentries/missing answer all say "..._iynO7X-...": a typo on the
    # page.  The key must be the placeholder's, which is what /missing reports and the snapshot needs.
    assert SEED_PAYLOAD["key"] != SEED_KEY and SEED_PAYLOAD["key"] == SEED_KEY.replace("iynO7X", "iyn07x")
    assert payload == {**SEED_PAYLOAD, "key": SEED_MISSING["missingVaultEntries"][0]}
    assert list(payload) == list(SEED_PAYLOAD)  # same key order as the page
    assert missing_entries([p.key for p in references], []) == SEED_MISSING


def test_the_value_is_masked_unless_revealed_and_empty_when_absent():
    references = find_placeholders(SEED_SNAPSHOT)
    masked = snapshot_payload(SEED_KEY, "org", references, seed_entry())
    assert masked["value"] == MASK == "********"
    assert SEED_VALUE not in json.dumps(masked)
    assert snapshot_payload(SEED_KEY, "org", references, seed_entry("x"))["value"] == MASK  # length hidden too
    assert snapshot_payload(SEED_KEY, "org", references, None, reveal=True)["value"] == ""


def test_extension_payload_shape_follows_the_vault_api_model():
    entry = VaultEntry("IPE_password", "fake-2d6snx9", ".env")
    payload = extension_payload("IPE_password", "yourorganizationid", "yourorganizationid-xc56kss5iazmlq4irhndj52ns4", entry)
    assert payload == {
        "scopes": [{"id": "yourorganizationid-xc56kss5iazmlq4irhndj52ns4", "resourceType": "EXTENSION"}],
        "key": "IPE_password",
        "value": "********",
        "organizationId": "yourorganizationid",
        "valueType": "STRING",
        "vaultVisibilityType": "OBFUSCATED",
    }
    assert list(payload) == ["scopes", "key", "value", "organizationId", "valueType", "vaultVisibilityType"]
    strict = extension_payload("IPE_password", "o", "e", entry, visibility="strict", reveal=True)
    assert strict["vaultVisibilityType"] == "STRICT" and strict["value"] == "fake-2d6snx9"
    with pytest.raises(HarnessError, match="OBFUSCATED, PUBLIC, STRICT"):
        extension_payload("IPE_password", "o", "e", entry, visibility="SECRET")


def test_find_entry_follows_precedence_and_scopes():
    vault = LocalVault(
        [
            VaultEntry("k", "fake-from-env-file", ".env"),
            VaultEntry("k", "fake-scoped", "vault.json", (("other-ext", "EXTENSION"),), visibility="STRICT"),
        ],
        {},
    )
    assert find_entry(vault, "k").value == "fake-from-env-file"  # the scoped one does not reach it
    assert find_entry(vault, "k", any_scope=True).visibility == "STRICT"  # for snapshots, scope is moot
    assert find_entry(vault, "absent", any_scope=True) is None


def test_missing_entries_is_sorted_and_unique():
    assert missing_entries(["b", "a", "b", "c"], ["c"]) == {"missingVaultEntries": ["a", "b"]}
    assert missing_entries([], ["c"]) == {"missingVaultEntries": []}


# --- the CLI -------------------------------------------------------------------------------------

PIM_SCRIPT = """
import requests
user = parameters.get("pim_user", "indexer")
password = vault_parameters["pim_api_password"]
token = vault_parameters.get("pim_token")
field = "region"
region = vault_parameters[field + "_code"]
"""


@pytest.fixture
def pim(make_extension):
    return make_extension(PIM_SCRIPT, name="pim", manifest={"id": "myorg-abc123", "useVault": True})


@pytest.fixture(autouse=True)
def _no_organization(monkeypatch):
    monkeypatch.delenv("COVEO_ORGANIZATION_ID", raising=False)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_for_an_extension_exits_1_with_sorted_keys_and_notes(pim, capsys):
    code, out, err = run(capsys, "vault", "missing", str(pim))
    assert code == 1
    assert json.loads(out) == {"missingVaultEntries": ["pim_api_password", "pim_token"]}
    assert "extension.py:6 (pim): a vault key that only running the script would tell" in err
    assert "'pim_api_password' is not defined for extension 'pim'" in err and "extension.py:3" in err


def test_missing_exits_0_when_the_local_vault_has_every_key(pim, tmp_path, capsys):
    write(tmp_path / ".env", "VAULT_pim_api_password=fake-pim-password-123\nVAULT_pim_token=fake-token-456\n")
    code, out, err = run(capsys, "vault", "missing", str(pim))
    assert code == 0 and json.loads(out) == {"missingVaultEntries": []}
    assert "fake-pim-password-123" not in out + err and "fake-token-456" not in out + err


def test_missing_respects_scopes(pim, make_extension, tmp_path, capsys):
    other = make_extension("x = vault_parameters['pim_api_password']", name="other")
    write(tmp_path / "vault.json", [
        {"key": "pim_api_password", "value": "fake-pim-password-123",
         "scopes": [{"id": "myorg-abc123", "resourceType": "EXTENSION"}]},
        {"key": "pim_token", "value": "fake-token-456"},
    ])
    assert run(capsys, "vault", "missing", str(pim))[0] == 0
    code, out, err = run(capsys, "vault", "missing", str(pim), str(other))
    assert code == 1 and json.loads(out) == {"missingVaultEntries": ["pim_api_password"]}
    assert "scoped to EXTENSION:myorg-abc123, not to extension 'other'" in err
    assert "fake-pim-password-123" not in out + err


def test_missing_with_no_ext_checks_every_extension_folder(tmp_path, capsys):
    for name, key in (("alpha", "a_key"), ("beta", "b_key")):
        folder = tmp_path / "extensions" / name
        folder.mkdir(parents=True)
        write(folder / "extension.py", f"x = vault_parameters['{key}']\n")
    code, out, _ = run(capsys, "vault", "missing")
    assert code == 1 and json.loads(out) == {"missingVaultEntries": ["a_key", "b_key"]}


def test_missing_for_the_seed_snapshot_gives_the_seed_answer(tmp_path, capsys):
    snapshot = write(tmp_path / "snapshot.json", SEED_SNAPSHOT)
    code, out, _ = run(capsys, "vault", "missing", "--snapshot", str(snapshot))
    assert code == 1 and json.loads(out) == SEED_MISSING
    # An entry scoped to some extension still exists in the organization: not missing.
    write(tmp_path / "vault.json", [{"key": SEED_KEY, "value": SEED_VALUE, "scopes": [{"id": "e", "resourceType": "EXTENSION"}]}])
    code, out, err = run(capsys, "vault", "missing", "--snapshot", str(snapshot))
    assert code == 0 and json.loads(out) == {"missingVaultEntries": []}
    assert SEED_VALUE not in out + err


def test_payload_for_the_seed_snapshot_matches_the_seed(tmp_path, capsys):
    snapshot = write(tmp_path / "snapshot.json", SEED_SNAPSHOT)
    vault = write(tmp_path / "entries.json", [{"key": SEED_KEY, "value": SEED_VALUE}])
    argv = ["vault", "payload", "--snapshot", str(snapshot), "--vault-file", str(vault),
            "--organization", "destinationorganizationid"]
    code, out, err = run(capsys, *argv)
    assert code == 0
    expected = {**SEED_PAYLOAD, "key": SEED_KEY}
    assert json.loads(out) == {**expected, "value": "********"}  # no KEY: every placeholder's key; one -> an object
    assert SEED_VALUE not in out + err
    code, out, _ = run(capsys, *argv, SEED_KEY, "--reveal")
    assert code == 0 and json.loads(out) == expected
    assert list(json.loads(out)) == list(SEED_PAYLOAD)


def test_payload_for_an_extension_masks_unless_reveal(pim, tmp_path, capsys):
    write(tmp_path / ".env", "COVEO_ORGANIZATION_ID=myorg\nVAULT_pim_api_password=fake-pim-password-123\n")
    code, out, err = run(capsys, "vault", "payload", "pim_api_password", "--extension", str(pim))
    assert code == 0
    assert json.loads(out) == {
        "scopes": [{"id": "myorg-abc123", "resourceType": "EXTENSION"}],
        "key": "pim_api_password",
        "value": "********",
        "organizationId": "myorg",
        "valueType": "STRING",
        "vaultVisibilityType": "OBFUSCATED",
    }
    assert "fake-pim-password-123" not in out + err
    code, out, _ = run(capsys, "vault", "payload", "pim_api_password", "--extension", str(pim), "--reveal",
                       "--visibility", "strict", "--organization", "otherorg")
    data = json.loads(out)
    assert code == 0 and data["value"] == "fake-pim-password-123"
    assert data["vaultVisibilityType"] == "STRICT" and data["organizationId"] == "otherorg"


def test_payload_with_no_key_lists_every_key_read_and_warns_for_absent_values(pim, monkeypatch, capsys):
    monkeypatch.setenv("COVEO_ORGANIZATION_ID", "envorg")
    monkeypatch.setenv("VAULT_pim_token", "fake-token-456")
    code, out, err = run(capsys, "vault", "payload", "--extension", str(pim))
    data = json.loads(out)
    assert code == 0 and isinstance(data, list)
    assert [(d["key"], d["value"], d["organizationId"]) for d in data] == [
        ("pim_api_password", "", "envorg"),
        ("pim_token", "********", "envorg"),
    ]
    assert "'pim_api_password' is not defined" in err and 'fill it in before sending' in err
    assert "fake-token-456" not in out + err


def test_payload_scope_falls_back_to_the_name_with_a_warning(make_extension, capsys):
    folder = make_extension("x = vault_parameters['k']", name="noid")
    code, out, err = run(capsys, "vault", "payload", "--extension", str(folder), "--organization", "o")
    assert code == 0 and json.loads(out)["scopes"] == [{"id": "noid", "resourceType": "EXTENSION"}]
    assert 'has no "id"' in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["vault", "payload", "--extension", "{pim}"], "no organization: give --organization ORG"),
        (["vault", "payload", "nope", "--snapshot", "{snap}", "--organization", "o"], "no {{ VAULT.nope }} placeholder"),
        (["vault", "missing", "{pim}", "--snapshot", "{snap}"], "give extensions or --snapshot, not both"),
        (["vault", "missing", "{broken}"], "extension.py:2: syntax error"),
        (["vault", "missing", "--snapshot", "{tmp}/wrong.json"], "wrong.json: $.resources.SOURCE[0].model: expected an object"),
        (["vault", "missing", "--snapshot", "{tmp}/absent.json"], "absent.json: no such snapshot file"),
        (["vault", "missing"], "no EXT given"),
    ],
    ids=["no-organization", "key-not-in-snapshot", "ext-and-snapshot", "syntax-error", "wrong-shape", "no-file", "no-extensions"],
)
def test_bad_usage_or_input_exits_2_with_one_line(pim, make_extension, tmp_path, capsys, argv, message):
    snap = write(tmp_path / "snap.json", SEED_SNAPSHOT)
    write(tmp_path / "wrong.json", {"resources": {"SOURCE": [{"resourceName": "s", "model": []}]}})
    broken = make_extension("x = 1\nif x\n", name="broken")
    argv = [a.format(pim=pim, snap=snap, tmp=tmp_path, broken=broken) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("ipe: error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["vault"],
        ["vault", "payload", "k"],
        ["vault", "payload", "k", "--extension", "e", "--snapshot", "s"],
        ["vault", "payload", "k", "--extension", "e", "--visibility", "SECRET"],
    ],
    ids=["no-action", "no-target", "two-targets", "bad-visibility"],
)
def test_argument_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage: ipe vault" in capsys.readouterr().err


def test_help_lists_the_vault_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "vault" in capsys.readouterr().out
    with pytest.raises(SystemExit) as caught:
        main(["vault", "payload", "--help"])
    assert caught.value.code == 0 and "--reveal" in capsys.readouterr().out


def test_a_key_named_by_a_module_constant_is_resolved():
    usage = vault_keys(
        'KEY = "pim_api_password"\nOTHER = "a"\nOTHER = "b"\n'
        "def f(name):\n    return vault_parameters[name]\n"
        "vault_parameters[KEY]\nvault_parameters.get(OTHER)\n",
        "extension.py",
    )
    assert usage.keys == {"pim_api_password": [6]}
    assert usage.dynamic == [5, 7]  # a parameter, and a name bound twice, are not constants
