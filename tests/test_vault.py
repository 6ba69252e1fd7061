"""The local vault: .env, vault.json with scopes, environment overrides, and what a script sees."""

from __future__ import annotations

import json

import pytest

import harness
from harness.vault import LocalVault, load_vault, parse_env, parse_vault_entries

from .conftest import SAMPLE_DOCUMENT

# Logs reversed copies of the values: they show which value the script got, and are not an alias the
# redactor masks (a logged value itself would be redacted).
SHOW_VAULT = "log(repr(sorted((k, v[::-1]) for k, v in vault_parameters.items())))"


def shown(pairs):
    return repr([(k, v[::-1]) for k, v in pairs])


def write(path, content):
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_env_lines_become_vault_entries_and_settings_stay_out():
    entries, settings = parse_env(
        "# local stand-ins\nVAULT_api_key=fake-key-123\nexport VAULT_pw='fake pw # not a comment'\n"
        "COVEO_ORGANIZATION_ID=myorg\nVAULT_=ignored\nVAULT_dollar=fake$HOME${HOME}\n"
    )
    assert {e.key: e.value for e in entries} == {
        "api_key": "fake-key-123",
        "pw": "fake pw # not a comment",
        "dollar": "fake$HOME${HOME}",  # no interpolation: secrets with $ stay intact
    }
    assert settings == {"COVEO_ORGANIZATION_ID": "myorg", "VAULT_": "ignored"}


def test_vault_json_in_the_vault_api_shape():
    entries = parse_vault_entries(
        [
            {
                "key": "IPE_password",
                "value": "fake-2d6snx9",
                "valueType": "string",
                "vaultVisibilityType": "OBFUSCATED",
                "organizationId": "yourorganizationid",
                "scopes": [{"id": "yourorganizationid-xc56kss5iazmlq4irhndj52ns4", "resourceType": "EXTENSION"}],
            },
            {"key": "flag", "value": True, "valueType": "BOOLEAN"},
            {"key": "limit", "value": 25, "valueType": "INTEGER"},
        ]
    )
    assert [(e.key, e.value, e.value_type) for e in entries] == [
        ("IPE_password", "fake-2d6snx9", "STRING"),
        ("flag", "true", "BOOLEAN"),
        ("limit", "25", "INTEGER"),
    ]
    assert entries[0].scopes == (("yourorganizationid-xc56kss5iazmlq4irhndj52ns4", "EXTENSION"),)


@pytest.mark.parametrize(
    "data, path",
    [
        ({"key": "x"}, r"\$: expected a list"),
        ([3], r"\$\[0\]: expected a vault entry object"),
        ([{"value": "v"}], r"\$\[0\].key"),
        ([{"key": "k"}], r"\$\[0\].value"),
        ([{"key": "k", "value": "v", "valueType": "BLOB"}], r"\$\[0\].valueType"),
        ([{"key": "k", "value": "v", "scopes": [{"resourceType": "EXTENSION"}]}], r"\$\[0\].scopes\[0\]"),
        ([{"key": "k", "value": "v", "vaultVisibilityType": "SECRET"}], r"\$\[0\].vaultVisibilityType"),
    ],
)
def test_bad_vault_json_names_the_path(data, path):
    with pytest.raises(harness.HarnessError, match=path):
        parse_vault_entries(data, "vault.json")


def test_errors_never_contain_a_value():
    with pytest.raises(harness.HarnessError) as info:
        parse_vault_entries([{"key": "k", "value": "fake-secret-value", "valueType": "BLOB"}])
    assert "fake-secret-value" not in str(info.value)
    assert "fake-secret-value" not in repr(parse_vault_entries([{"key": "k", "value": "fake-secret-value"}])[0])


def test_precedence_env_then_vault_json_then_environment(tmp_path):
    write(tmp_path / ".env", "VAULT_a=from-env\nVAULT_b=from-env\nVAULT_c=from-env\n")
    write(tmp_path / "vault.json", [{"key": "b", "value": "from-json"}, {"key": "c", "value": "from-json"}])
    vault = load_vault(environ={"VAULT_c": "from-environment", "VAULT_d": "only-environment"}, start=tmp_path)
    assert vault.values_for(None) == {
        "a": "from-env",
        "b": "from-json",
        "c": "from-environment",
        "d": "only-environment",
    }


def test_files_are_found_in_parent_folders(tmp_path):
    write(tmp_path / ".env", "VAULT_a=fake-a\nCOVEO_ORGANIZATION_ID=myorg\n")
    nested = tmp_path / "extensions" / "x"
    nested.mkdir(parents=True)
    vault = load_vault(environ={}, start=nested)
    assert vault.values_for(None) == {"a": "fake-a"}
    assert vault.settings == {"COVEO_ORGANIZATION_ID": "myorg"}
    assert vault.env_file == tmp_path / ".env"


def test_explicit_files_override_the_search_and_must_exist(tmp_path):
    write(tmp_path / ".env", "VAULT_a=default\n")
    other = write(tmp_path / "ci.env", "VAULT_a=explicit\n")
    assert load_vault(env_file=other, environ={}, start=tmp_path).values_for(None) == {"a": "explicit"}
    with pytest.raises(harness.HarnessError, match="missing.env: cannot read env file"):
        load_vault(env_file=tmp_path / "missing.env", environ={})
    with pytest.raises(harness.HarnessError, match="missing.json: no such vault file"):
        load_vault(vault_file=tmp_path / "missing.json", environ={})


def test_scoped_entries_reach_only_their_extensions(make_extension, tmp_path):
    write(
        tmp_path / "vault.json",
        [
            {"key": "shared", "value": "fake-shared"},
            {"key": "mine", "value": "fake-mine", "scopes": [{"id": "myorg-abc123", "resourceType": "EXTENSION"}]},
            {"key": "by_name", "value": "fake-by-name", "scopes": [{"id": "pim", "resourceType": "EXTENSION"}]},
            {"key": "theirs", "value": "fake-theirs", "scopes": [{"id": "myorg-zzz", "resourceType": "EXTENSION"}]},
            {"key": "source", "value": "fake-src", "scopes": [{"id": "myorg-abc123", "resourceType": "SOURCE"}]},
        ],
    )
    folder = make_extension(SHOW_VAULT, name="pim", manifest={"id": "myorg-abc123"})
    result = harness.run_extension(folder, SAMPLE_DOCUMENT)  # vault=None: the local vault, as `ipe run`
    assert result.logs[0].comment == shown([("by_name", "fake-by-name"), ("mine", "fake-mine"), ("shared", "fake-shared")])


def test_missing_key_scoped_elsewhere_says_so(make_extension, tmp_path):
    write(
        tmp_path / "vault.json",
        [{"key": "theirs", "value": "fake-theirs-value", "scopes": [{"id": "myorg-zzz", "resourceType": "EXTENSION"}]}],
    )
    folder = make_extension("vault_parameters['theirs']", name="pim", manifest={"id": "myorg-abc123"})
    result = harness.run_extension(folder, SAMPLE_DOCUMENT)
    assert result.status == "EXECUTION_ERROR"
    last = result.reason.splitlines()[-1]
    assert "'theirs'" in last and "scoped to EXTENSION:myorg-zzz" in last and "myorg-abc123" in last
    assert "fake-theirs-value" not in result.reason


def test_environment_overrides_for_ci(make_extension, tmp_path, monkeypatch):
    write(tmp_path / ".env", "VAULT_token=fake-from-env-file\n")
    monkeypatch.setenv("VAULT_token", "fake-from-ci")
    folder = make_extension(SHOW_VAULT)
    assert harness.run_extension(folder, SAMPLE_DOCUMENT).logs[0].comment == shown([("token", "fake-from-ci")])


def test_a_dict_vault_gives_exactly_those_values(make_extension, tmp_path):
    write(tmp_path / ".env", "VAULT_token=fake-from-env-file\n")
    folder = make_extension(SHOW_VAULT)
    result = harness.run_extension(folder, SAMPLE_DOCUMENT, vault={"n": 3, "flag": False})
    assert result.logs[0].comment == shown([("flag", "false"), ("n", "3")])


def test_local_vault_from_values():
    vault = LocalVault.from_values({"a": "fake-a"})
    assert vault.values_for(None) == {"a": "fake-a"}
    with pytest.raises(harness.HarnessError, match="vault must be a dict"):
        harness.Runner(__file__, vault=["not", "a", "vault"])
