"""The payql command line as a newcomer meets it: version, help, a database not yet
migrated, and what an install prints."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conftest import ROOT, SECRET

PAYQL = str(Path(sys.executable).parent / "payql")
MAKE = shutil.which("make") or "/usr/bin/make"


def payql(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PAYQL, *args],
        cwd=tmp_path,  # no .env from the checkout
        env={"PATH": os.environ["PATH"], "PAYQL_JWT_SECRET": SECRET, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    done = payql(tmp_path, "--version")
    assert (done.returncode, done.stdout) == (0, f"payql {version('payql')}\n")


def test_top_level_help_lists_every_command_without_markup(tmp_path: Path) -> None:
    done = payql(tmp_path, "--help")
    assert done.returncode == 0
    assert "`" not in done.stdout
    for command in ("serve", "migrate", "seed", "token", "export-schema", "makemigrations"):
        assert re.search(rf"^\s+{command}\b", done.stdout, re.MULTILINE), command


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (
            "serve",
            {
                "--host": "(default: 127.0.0.1)",
                "--port": "(default: 8000)",
                "--workers": "(default: 1)",
            },
        ),
        ("export-schema", {"--output": "(default: schema.graphql)"}),
        (
            "makemigrations",
            {
                "--name": "(default: update)",
                "--dialect": "chain to extend",
                "--postgres-url": "(default: postgres://postgres@127.0.0.1:5432/)",
                "--location": "instead of migrations/<dialect>",
            },
        ),
        ("token", {"--email": "subject", "--staff": "staff of SLUG", "--admin": "every"}),
    ],
)
def test_every_option_has_a_help_text_and_its_default(
    tmp_path: Path, command: str, options: dict[str, str]
) -> None:
    done = payql(tmp_path, command, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())  # argparse wraps long lines
    assert "(default: None)" not in text
    for option, shown in options.items():
        assert re.search(rf"{option}( \S+)?\s\s+\w", done.stdout), (option, done.stdout)
        assert shown in text, (option, shown, text)


def _db(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'fresh.sqlite3'}"


@pytest.mark.parametrize(
    ("command", "env"),
    [
        (["seed"], {}),
        (["token", "--email", "a@example.com", "--staff", "demo"], {}),
        (["serve", "--port", "0"], {"PAYQL_ENV": "production"}),
    ],
)
def test_a_command_on_an_unmigrated_database_says_to_migrate_in_one_line(
    tmp_path: Path, command: list[str], env: dict[str, str]
) -> None:
    done = payql(tmp_path, *command, DATABASE_URL=_db(tmp_path), **env)

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"payql: the database has {_chain_length()} migration(s) to apply: "
        "run `payql migrate` first"
    ]


def test_after_migrate_the_same_command_works(tmp_path: Path) -> None:
    assert payql(tmp_path, "migrate", DATABASE_URL=_db(tmp_path)).returncode == 0
    done = payql(tmp_path, "seed", DATABASE_URL=_db(tmp_path))
    assert (done.returncode, done.stdout) == (0, "seeded the demo workspace\n")


def test_an_unreachable_database_is_one_line_without_its_url(tmp_path: Path) -> None:
    url = "postgres://payql:hunter2-password@127.0.0.1:1/payql"  # nothing listens on port 1
    done = payql(tmp_path, "seed", DATABASE_URL=url)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("payql: cannot reach the database: ")
    assert "hunter2" not in done.stderr


def _chain_length() -> int:
    return len(list((ROOT / "migrations" / "sqlite" / "models").glob("[0-9]*_*.py")))


def test_package_data_patterns_name_files_that_exist() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package, patterns in config.get("package-data", {}).items():
        for pattern in patterns:
            assert list((ROOT / package).glob(pattern)), f"{package}/{pattern} matches nothing"


def test_an_editable_install_prints_no_setuptools_warning(tmp_path: Path) -> None:
    """The build pip runs for ``pip install -e .`` (``make install``), from a copy of the
    project, writing its wheel to ``tmp_path``."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta; "
            "print(build_meta.build_editable(sys.argv[1]))",
            str(tmp_path),
        ],
        cwd=_project_copy(tmp_path / "project"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Please be careful" not in done.stderr + done.stdout
    assert "Warning" not in done.stderr


def _project_copy(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", "*.egg-info")
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    for package in ("app", "schema", "resolvers", "models", "gateways", "events"):
        shutil.copytree(ROOT / package, target / package, ignore=ignore)
    return target


def test_export_schema_writes_every_enum_value_with_a_description(tmp_path: Path) -> None:
    from graphql import GraphQLEnumType, build_schema

    done = payql(tmp_path, "export-schema", "--output", "out.graphql")
    assert done.returncode == 0, done.stderr
    sdl = build_schema((tmp_path / "out.graphql").read_text())
    enums = [t for name, t in sdl.type_map.items() if isinstance(t, GraphQLEnumType)]
    values = {
        f"{enum.name}.{name}": value.description
        for enum in enums
        if not enum.name.startswith("__")
        for name, value in enum.values.items()
    }
    assert len(values) >= 58
    assert [name for name, description in values.items() if not description] == []
    assert values["PaymentStatus.SUCCEEDED"].startswith("The money was taken")


def test_make_run_takes_a_port_and_make_install_says_what_it_installs() -> None:
    def planned(*args: str) -> str:
        # -n prints the recipes without running them; -B as if nothing were installed yet.
        # Not as a sub-make of `make test`: its flags would make this one print directories.
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        done = subprocess.run(
            [MAKE, "-n", "-B", "--no-print-directory", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run = planned("run", "PORT=8123").splitlines()
    install = planned("install")

    assert run[-1] == ".venv/bin/payql serve --port 8123"
    assert planned("run").splitlines()[-1] == ".venv/bin/payql serve --port 8000"
    assert 'echo "Installing the packages requirements.lock pins into .venv' in install
    assert 'echo "Installing payql itself into .venv' in install
