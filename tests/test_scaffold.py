"""`ipe new`: every template generates an extension whose tests pass, that `ipe check` finds
clean and that linters accept; names are validated, nothing is ever overwritten, and project
files (.gitignore, .env.example, pyproject.toml) are created or completed only when needed."""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from harness import document as document_api
from harness.check import check_extension
from harness.cli import main
from harness.extension import load_extension

TEMPLATES = ["basic", "body-rewrite", "http-enrichment", "permissions", "reject-filter"]
HARNESS_PARENT = str(Path(harness.__file__).resolve().parent.parent)


def clean_env() -> dict[str, str]:
    """The environment for subprocesses, without the developer's VAULT_* values."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VAULT_") and not k.startswith("PYTEST_")}


def ipe_new(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "new", *args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=120, check=False)


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd,
                          env=clean_env(), capture_output=True, text=True, timeout=300, check=False)


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder in which `ipe new sample-<template> --template <template>` ran for every template."""
    folder = tmp_path_factory.mktemp("project")
    for template in TEMPLATES:
        done = ipe_new(folder, f"sample-{template}", "--template", template)
        assert done.returncode == 0, done.stderr
    return folder


# -- every template: tests pass, ipe check is clean, linters accept it -----------------------------


@pytest.mark.parametrize("template", TEMPLATES)
def test_generated_tests_pass_at_once(project: Path, template: str) -> None:
    test_file = Path("tests", "extensions", f"test_sample_{template.replace('-', '_')}.py")
    done = run_pytest(project, str(test_file))
    assert done.returncode == 0, done.stdout + done.stderr
    passed = int(re.search(r"(\d+) passed", done.stdout).group(1))  # type: ignore[union-attr]
    assert passed >= 6 and "failed" not in done.stdout and "skipped" not in done.stdout


@pytest.mark.parametrize("template", TEMPLATES)
def test_ipe_check_finds_nothing(project: Path, template: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(project / "extensions" / f"sample-{template}"), "--json"]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert report["clean"] is True
    assert report["documents"] and all(d["status"] in ("SUCCESS", "SKIPPED", "REJECTED") for d in report["documents"])


@pytest.mark.parametrize("template", TEMPLATES)
def test_ruff_finds_no_undefined_name_or_error(project: Path, template: str) -> None:
    pytest.importorskip("ruff")
    module = template.replace("-", "_")
    paths = [f"extensions/sample-{template}", f"tests/extensions/test_sample_{module}.py"]
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "F,E9", *paths],
                          cwd=project, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_without_the_declarations_ruff_reports_the_injected_names(tmp_path: Path) -> None:
    """The lint above can fail: the same script minus its TYPE_CHECKING import has undefined names."""
    pytest.importorskip("ruff")
    assert ipe_new(tmp_path, "bare").returncode == 0
    script = tmp_path / "extensions" / "bare" / "extension.py"
    text = re.sub(r"if TYPE_CHECKING:.*\n.*\n", "", script.read_text(encoding="utf-8"))
    script.write_text(text.replace("from typing import TYPE_CHECKING\n", ""), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "F821", str(script)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert {"document", "log", "parameters"} <= set(re.findall(r"Undefined name `(\w+)`", done.stdout))


def test_mypy_types_every_generated_script_and_catches_misuse(project: Path, tmp_path: Path) -> None:
    """The declarations are complete enough to type-check every template's script, and strict
    enough to flag what Coveo does not have (a harness-only method, a misspelled one)."""
    pytest.importorskip("mypy")
    for template in TEMPLATES:  # one module name each: mypy sees every file as `extension` otherwise
        shutil.copy(project / "extensions" / f"sample-{template}" / "extension.py",
                    tmp_path / f"{template.replace('-', '_')}.py")
    (tmp_path / "misuse.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
        "    from harness.ipe_globals import document\n\n"
        "document.export()\n"
        'document.get_metadata_value("title")\n',
        encoding="utf-8",
    )
    env = {**clean_env(), "MYPYPATH": HARNESS_PARENT}  # an editable install hides harness from mypy
    done = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-incremental",
                           "--cache-dir", os.devnull, "--no-error-summary", "."],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert [e.split(":")[0] for e in errors] == ["misuse.py", "misuse.py"], done.stdout + done.stderr
    assert '"Document" has no attribute "export"' in errors[0]
    assert '"Document" has no attribute "get_metadata_value"' in errors[1]


# -- the script runs unchanged in Coveo ------------------------------------------------------------


@pytest.mark.parametrize("template", TEMPLATES)
def test_script_imports_harness_only_for_type_checkers(project: Path, template: str) -> None:
    """Coveo has no `harness` package: every import of it sits under `if TYPE_CHECKING:`."""
    tree = ast.parse((project / "extensions" / f"sample-{template}" / "extension.py").read_text(encoding="utf-8"))
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            guarded |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("harness")]
    assert imports and all(id(n) in guarded for n in imports)


def test_importing_the_declarations_at_run_time_says_why_it_fails() -> None:
    with pytest.raises(ImportError, match="TYPE_CHECKING"):
        from harness.ipe_globals import document  # noqa: F401


def test_declarations_match_the_document_api() -> None:
    """Every method ipe_globals.pyi declares exists in harness.document with the same parameters."""
    stub = ast.parse((Path(harness.__file__).parent / "ipe_globals.pyi").read_text(encoding="utf-8"))
    checked = 0
    for node in stub.body:
        if not isinstance(node, ast.ClassDef):
            continue
        real = getattr(document_api, node.name)
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                declared = [a.arg for a in item.args.args]
                if any(isinstance(d, ast.Name) and d.id == "property" for d in item.decorator_list):
                    assert isinstance(getattr(real, item.name), property), f"{node.name}.{item.name}"
                    continue
                actual = list(inspect.signature(getattr(real, item.name)).parameters)
                assert declared == actual, f"{node.name}.{item.name}: {declared} != {actual}"
                checked += 1
            elif isinstance(item, ast.AnnAssign) and node.name == "Document":
                assert getattr(real, item.target.id) is getattr(document_api, item.target.id)  # type: ignore[attr-defined]
    assert checked >= 20


# -- names, templates, options ---------------------------------------------------------------------


def test_list_shows_every_template_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == TEMPLATES
    assert all(len(line.split(None, 1)[1]) > 20 for line in lines)
    assert list(Path.cwd().iterdir()) == []


@pytest.mark.parametrize(
    "name", ["Bad Name", "1st-extension", "title.fix", "pre/title", "_x", "café", "x" * 65, "con", "Title_Fix", ""]
)
def test_bad_names_are_refused_on_one_line(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", name]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ipe: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert list(Path.cwd().iterdir()) == []


def test_upper_case_name_gets_the_lower_case_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "Title_Fix"]) == 2
    assert "'title_fix'" in capsys.readouterr().err


def test_hyphens_become_underscores_in_the_test_module(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "pre-title-fix"]) == 0
    assert Path("tests/extensions/test_pre_title_fix.py").is_file()
    manifest = json.loads(Path("extensions/pre-title-fix/extension.json").read_text(encoding="utf-8"))
    assert manifest["name"] == "pre-title-fix"
    assert "python -m pytest tests/extensions/test_pre_title_fix.py" in capsys.readouterr().out


def test_no_name_and_unknown_template_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new"]) == 2
    assert "NAME" in capsys.readouterr().err
    assert main(["new", "enrich", "--template", "graphql"]) == 2
    err = capsys.readouterr().err
    assert "graphql" in err and all(t in err for t in TEMPLATES)
    assert list(Path.cwd().iterdir()) == []


def test_stage_and_api_version_go_into_the_manifest() -> None:
    assert main(["new", "post-tags", "--stage", "post", "--api-version", "v2"]) == 0
    extension = load_extension("extensions/post-tags")
    assert (extension.stage, extension.api_version, extension.name) == ("post", "v2", "post-tags")
    assert "(post-conversion)" in extension.source.splitlines()[0]


@pytest.mark.parametrize(("template", "stage"), [("basic", "pre"), ("body-rewrite", "post")])
def test_stage_defaults_to_the_templates(template: str, stage: str) -> None:
    assert main(["new", "ext", "--template", template]) == 0
    manifest = json.loads(Path("extensions/ext/extension.json").read_text(encoding="utf-8"))
    assert (manifest["stage"], manifest["apiVersion"]) == (stage, "v1")


def test_bad_stage_is_an_argparse_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["new", "ext", "--stage", "middle"])
    assert exc.value.code == 2


# -- never overwrite -------------------------------------------------------------------------------


def test_existing_extension_is_never_overwritten(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "tags"]) == 0
    script = Path("extensions/tags/extension.py")
    script.write_text("# my own work\n", encoding="utf-8")
    before = files_under(Path.cwd())
    capsys.readouterr()
    assert main(["new", "tags", "--template", "reject-filter"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "never overwrites" in err and err.count("\n") == 1
    assert files_under(Path.cwd()) == before


def test_an_existing_test_file_stops_everything_before_the_first_write() -> None:
    Path("tests/extensions").mkdir(parents=True)
    Path("tests/extensions/test_tags.py").write_text("def test_mine(): pass\n", encoding="utf-8")
    assert main(["new", "tags"]) == 2
    assert files_under(Path.cwd()) == {"tests/extensions/test_tags.py": b"def test_mine(): pass\n"}


def test_names_sharing_a_test_module_are_refused() -> None:
    assert main(["new", "pre-tags"]) == 0
    assert main(["new", "pre_tags"]) == 2
    assert not Path("extensions/pre_tags").exists()


def test_an_empty_extension_folder_is_used() -> None:
    Path("extensions/tags").mkdir(parents=True)
    assert main(["new", "tags"]) == 0
    assert Path("extensions/tags/extension.py").is_file()


# -- project files ---------------------------------------------------------------------------------


def test_empty_folder_gets_gitignore_env_example_and_pytest_settings() -> None:
    assert main(["new", "tags"]) == 0
    assert {".gitignore", ".env.example", "pyproject.toml"} <= {p.name for p in Path.cwd().iterdir()}
    assert not Path("conftest.py").exists() and not Path("tests/conftest.py").exists()
    ignored = Path(".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored and "vault.json" in ignored
    assert 'testpaths = ["tests"]' in Path("pyproject.toml").read_text(encoding="utf-8")
    assert "VAULT_<key>" in Path(".env.example").read_text(encoding="utf-8")


def test_gitignore_without_env_gets_the_lines_it_lacks_appended() -> None:
    Path(".gitignore").write_text("node_modules/\nvault.json", encoding="utf-8")  # no final newline
    assert main(["new", "tags"]) == 0
    text = Path(".gitignore").read_text(encoding="utf-8")
    assert text.startswith("node_modules/\nvault.json\n# ")
    assert text.splitlines().count(".env") == 1 and text.splitlines().count("vault.json") == 1


@pytest.mark.parametrize("lines", [".env\nvault.json\n", "/.env*\n*.json\n", "**/.env\nvault.json\n"])
def test_gitignore_that_covers_env_is_left_alone(lines: str) -> None:
    Path(".gitignore").write_text(lines, encoding="utf-8")
    assert main(["new", "tags"]) == 0
    assert Path(".gitignore").read_text(encoding="utf-8") == lines


def test_gitignore_that_unignores_env_is_completed() -> None:
    Path(".gitignore").write_text(".env*\n!.env\nvault.json\n", encoding="utf-8")
    assert main(["new", "tags"]) == 0
    assert Path(".gitignore").read_text(encoding="utf-8").splitlines()[-1] == ".env"


@pytest.mark.parametrize("config", ["pyproject.toml", "pytest.ini", "setup.cfg", "tox.ini"])
def test_existing_configuration_is_kept_and_no_pyproject_is_added(config: str) -> None:
    Path(config).write_text("# mine\n", encoding="utf-8")
    assert main(["new", "tags"]) == 0
    assert Path(config).read_text(encoding="utf-8") == "# mine\n"
    assert Path("pyproject.toml").exists() == (config == "pyproject.toml")


def test_http_template_documents_its_vault_key_once_in_env_example() -> None:
    Path(".env.example").write_text("# my settings\nVAULT_other=x\n", encoding="utf-8")
    assert main(["new", "crm", "--template", "http-enrichment"]) == 0
    assert main(["new", "erp", "--template", "http-enrichment"]) == 0
    assert main(["new", "tags"]) == 0
    text = Path(".env.example").read_text(encoding="utf-8")
    assert text.startswith("# my settings\nVAULT_other=x\n")
    assert text.count("VAULT_crm_api_key=") == 1 and text.count("VAULT_erp_api_key=") == 1
    script = Path("extensions/crm/extension.py").read_text(encoding="utf-8")
    assert 'VAULT_KEY = "crm_api_key"' in script and "vault_parameters[VAULT_KEY]" in script


def test_generated_tests_pass_inside_a_repository_like_this_one(tmp_path: Path) -> None:
    """tests/ and tests/extensions/ as packages, a conftest.py that changes the working folder."""
    (tmp_path / "tests" / "extensions").mkdir(parents=True)
    (tmp_path / "tests" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "tests" / "extensions" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "tests" / "conftest.py").write_text(
        "import pytest\n\n\n@pytest.fixture(autouse=True)\ndef _elsewhere(monkeypatch, tmp_path):\n"
        "    monkeypatch.chdir(tmp_path)\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n', encoding="utf-8")
    assert ipe_new(tmp_path, "repo-tags").returncode == 0
    done = run_pytest(tmp_path)
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout + done.stderr


# -- a gap to close: the static leak pass and the TYPE_CHECKING import -----------------------------


def test_static_pass_still_sees_a_leak_through_the_declarations_import() -> None:
    assert main(["new", "leaky", "--template", "http-enrichment"]) == 0
    script = Path("extensions/leaky/extension.py")
    text = script.read_text(encoding="utf-8")
    script.write_text(text + '\nif parameters.get("debug") == "never-set":\n'
                      '    log("key: %s" % vault_parameters[VAULT_KEY])\n', encoding="utf-8")
    report = check_extension("extensions/leaky")
    assert [(f.key, f.channel) for f in report.flows] == [("leaky_api_key", "log")]
