"""The README's install, pre-commit, release and editor snippets name only what exists: the
version and its tag (v<version>), the hook ids of .pre-commit-hooks.yaml, the package's extras and
command-line flags, the project's URL. (tests/test_precommit.py runs the pre-commit blocks with real
pre-commit, tests/test_dist.py the built wheel and sdist, tests/test_vscode.py the extension.)"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

import yaml

import logitlint
from tests.conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
VERSION = logitlint.__version__
TAG = f"v{VERSION}"
HOMEPAGE = PYPROJECT["project"]["urls"]["Homepage"]


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def pip_installs() -> list[list[str]]:
    """The arguments of every `pip install` the README shows, in code spans and blocks."""
    found = []
    for match in re.finditer(r"pip install ([^`\n]+?)(?=`|\n| && |\))", README):
        found.append(shlex.split(match[1].split(" && ")[0]))
    return found


def flags_of(command: str) -> str:
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_readme_says_to_make_a_venv_first_as_ci_does():
    venv = "python3 -m venv .venv && . .venv/bin/activate"
    assert venv in section("Set-up")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv .venv" in ci and ". .venv/bin/activate" in ci
    assert section("Set-up").index(venv) < section("Set-up").index("python -m pip install . && logitlint check")


def test_every_pip_install_names_a_path_a_tagged_git_url_or_torch():
    installs = pip_installs()
    assert len(installs) >= 5, installs
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    for args in installs:
        targets = [a for a in args if not a.startswith("-")]
        assert targets, args
        for target in targets:
            if target == "torch":  # the guard's own hint, for the runtime feature
                continue
            named = re.fullmatch(r"(?:logitlint @ )?(?P<where>[^\[\s]+)(?:\[(?P<extras>[\w,]+)\])?", target)
            assert named, target
            assert set(filter(None, (named["extras"] or "").split(","))) <= extras, target
            where = named["where"]
            if where.startswith("git+"):
                url, _, ref = where[len("git+") :].rpartition("@")
                assert (url, ref) == (HOMEPAGE, TAG), target
            else:  # not on PyPI yet: a bare `pip install logitlint` would fail
                assert where in {".", "/path/to/logitlint"}, target


def test_the_precommit_config_names_the_release_tag_and_existing_hooks_fix_first():
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section("pre-commit"), re.S)]
    (ours,) = [repo for block in blocks if isinstance(block, dict) for repo in block["repos"]]
    assert ours["repo"] == "/path/to/logitlint" and ours["rev"] == TAG
    ids = [hook["id"] for hook in ours["hooks"]]
    assert ids == ["logitlint-fix", "logitlint"]  # the fix first, then the check sees fixed files
    assert set(ids) <= {hook["id"] for hook in HOOKS}
    (flake8_block,) = [b for b in blocks if isinstance(b, list)]
    (flake8,) = flake8_block[0]["hooks"]
    assert "/path/to/logitlint" in flake8["additional_dependencies"]
    try_repo = re.search(r"pre-commit try-repo /path/to/logitlint (\S+) --all-files", section("pre-commit"))
    assert try_repo and try_repo[1] in {hook["id"] for hook in HOOKS}


def test_the_hooks_use_flags_that_exist_and_take_notebooks():
    for hook in HOOKS:
        program, command, *flags = hook["entry"].split()
        assert program == "logitlint"
        help_text = flags_of(command)
        for flag in flags:
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text), (hook["id"], flag)
        assert "jupyter" in hook["types_or"]
    assert "--unsafe-fixes" in flags_of("fix")  # the README's `args: [--unsafe-fixes]`


def test_the_release_section_follows_the_version():
    releases = section("Releases")
    assert f"git tag {TAG}" in releases
    assert f"dist/logitlint-{VERSION}.tar.gz" in releases and f"dist/logitlint-{VERSION}-py3-none-any.whl" in releases
    assert "src/logitlint/__init__.py" in releases


def test_the_vscode_snippet_names_the_package_it_builds():
    package = json.loads((ROOT / "editors" / "vscode" / "package.json").read_text())
    assert package["version"] == VERSION
    assert f"code --install-extension {package['name']}-{package['version']}.vsix" in section("Editors")
    assert "package" in package["scripts"] and "cd editors/vscode && npm ci && npm run package" in section("Editors")


def test_the_readme_says_whether_the_release_tag_exists():
    tags = subprocess.run(["git", "tag", "--list", "v*"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert ("No release is tagged yet" in section("Releases")) == (TAG not in tags), tags
