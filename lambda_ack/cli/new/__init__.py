"""`lambda-ack new DIR [--bolt]`: a Slack app project that builds, tests and deploys as made.

The project is the runtime's template files (`templates/common`, then `templates/slack` or
`templates/bolt`), with `{{name}}` the folder's name and `{{version}}` this lambda-ack's, and a
copy of this lambda-ack's Terraform module in `terraform/lambda-ack/`, which the project's
`terraform/main.tf` calls: the project deploys with what it holds, whatever the network reaches. Its
requirements lock is pinned and hashed as this lambda-ack's own locks pin the same packages
(`./dev lock` makes them), so it installs with `--require-hashes` as generated.
"""

from __future__ import annotations

import re
from pathlib import Path

from lambda_ack import __version__
from lambda_ack.cli.errors import CommandError
from lambda_ack.cli.paths import terraform_module

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Kept under other names in the package: tools skip a dot file, and a wheel should not need one.
_RENAMED = {"dot-gitignore": ".gitignore", "dot-dockerignore": ".dockerignore"}


def scaffold(folder: Path, bolt: bool = False) -> Path:
    folder = folder.resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise CommandError(f"{folder} exists and is not an empty folder; give a new one")
    name = re.sub(r"[^a-z0-9-]+", "-", folder.name.lower()).strip("-") or "slack-app"
    files = _files(TEMPLATES / "common") | _files(TEMPLATES / ("bolt" if bolt else "slack"))
    for relative, source in sorted(files.items()):
        dest = folder / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text().replace("{{name}}", name).replace("{{version}}", __version__)
        dest.write_text(text)
    module = folder / "terraform" / "lambda-ack"
    module.mkdir(parents=True)
    for source in sorted(terraform_module().glob("*.tf")) + [terraform_module() / "README.md"]:
        (module / source.name).write_text(source.read_text())
    print(
        f"lambda-ack new: {'a Bolt' if bolt else 'a Slack'} app in {folder}. Next:\n"
        f"  cd {folder}\n"
        "  python3 -m venv .venv && . .venv/bin/activate\n"
        "  pip install -r requirements.txt && pip install -r requirements-dev.txt\n"
        "  pytest\n"
        "  lambda-ack build"
    )
    return folder


def _files(root: Path) -> dict[Path, Path]:
    found = {}
    for source in root.rglob("*"):
        if source.is_file() and "__pycache__" not in source.parts:
            relative = source.relative_to(root)
            found[relative.with_name(_RENAMED.get(relative.name, relative.name))] = source
    return found
