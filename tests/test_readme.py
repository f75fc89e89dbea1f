"""Every shell command the README and the documentation show runs as written, on a fresh copy of
the repository.

Each ```sh block (README.md, docs/*.md) is run as one bash script (`set -euo pipefail`) in a
copy of the files git knows, with the already set-up `.venv` and `.cache` linked in (a new venv
would cost the suite a minute; `./dev` checks the venv against the requirements either way). A
line is left out only when it needs what no test machine has (Docker, AWS, an interpreter archive
from GitHub) or is this suite itself; `SKIPPED` says which, and a block that loses a line
matching none of them fails, so a new command is run by default. One change is made to the text:
port 9000 becomes a free port, since another program may hold 9000. Terraform gets the AWS
provider from this machine's filesystem mirror (`TF_CLI_CONFIG_FILE`), as a machine without the
registry would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import terraform_support

from lambda_ack.cli.local.ports import free_port

ROOT = Path(__file__).resolve().parent.parent

# What a line may need that this machine cannot give it, and so the only reasons to skip one.
SKIPPED = {
    r"^docker ": "needs a Docker engine",
    r"^sam ": "needs AWS (and SAM CLI)",
    r"terraform apply\b": "needs AWS; test_terraform applies the module against moto's server",
    r"--python-archive (ARCHIVE|URL_OR_PATH)": "a placeholder for an archive from GitHub",
    r"^\./dev test\b": "the suite itself",
    r"^lambda-ack build$": "downloads the interpreter from GitHub; test_package builds the same "
    "way through a loopback stand-in",
}


DOCUMENTS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]


def shell_blocks() -> list[tuple[str, list[str]]]:
    """(where, commands) for every ```sh block of the README and the documentation's pages,
    continuation lines joined; a block shown twice (the README repeats the getting-started
    one) once. `where` is the file and the heading above the block."""
    blocks, seen = [], set()
    for document in DOCUMENTS:
        text = (ROOT / document).read_text()
        heading = "top"
        # Fenced blocks first, so that a `#` comment inside one is never taken for a heading.
        for match in re.finditer(r"^```(\w*)\n(.*?)^```|^#{1,2} ([^\n]+)$", text, re.M | re.S):
            if match.group(3):
                heading = match.group(3)
                continue
            if match.group(1) != "sh":
                continue
            body = match.group(2).replace("\\\n", " ")
            lines = [
                line for line in body.splitlines() if line.strip() and not line.startswith("#")
            ]
            if tuple(lines) not in seen:
                seen.add(tuple(lines))
                blocks.append((f"{document}: {heading}", lines))
    return blocks


def runnable(lines: list[str]) -> list[str]:
    return [line for line in lines if not any(re.search(p, line) for p in SKIPPED)]


BLOCKS = [(section, lines) for section, lines in shell_blocks() if runnable(lines)]


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    copy = tmp_path_factory.mktemp("clone") / "lambda-ack"
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (ROOT / ".cache").mkdir(exist_ok=True)  # a fresh clone has none until something caches
    for linked in (".venv", ".cache"):
        (copy / linked).symlink_to(ROOT / linked)
    return copy


def test_every_shell_block_is_found_and_only_unrunnable_lines_are_left_out():
    blocks = shell_blocks()
    documents = {where.split(": ", 1)[0] for where, _ in BLOCKS}
    assert {"README.md", "docs/running-locally.md", "docs/deploying.md"} <= documents
    assert any("./dev demo" in line for _, lines in BLOCKS for line in lines)
    for _, lines in blocks:
        for line in set(lines) - set(runnable(lines)):
            assert any(re.search(p, line) for p in SKIPPED), line


@pytest.mark.parametrize(
    ("section", "lines"),
    BLOCKS,
    ids=[f"{section}-{i}" for i, (section, _) in enumerate(BLOCKS)],
)
def test_the_readme_shell_block_runs_as_written(fresh_copy, section, lines):
    port = str(free_port())
    script = "\n".join(
        ["set -euo pipefail", *(line.replace("9000", port) for line in runnable(lines))]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBDA_", "SLACK_"))}
    if re.search(r"^terraform ", script, re.M):
        if (what := terraform_support.missing()) is not None:
            pytest.fail(what, False)
        env["TF_CLI_CONFIG_FILE"] = str(terraform_support.cli_config(fresh_copy.parent))
        env["CHECKPOINT_DISABLE"] = "1"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=fresh_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    said = f"script:\n{script}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 0, said
    assert "Traceback" not in done.stdout + done.stderr, said
    if "--slack-command" in script:  # the function answered and its deferred work posted
        assert "Accepted! (task: quarterly-report)" in done.stdout, said
        assert "response_url <- " in done.stdout and "Completed!" in done.stdout, said
    if "--url" in script:  # the report streamed, then its deferred notification ran
        assert "day,orders,revenue\n" in done.stdout, said
        assert "Report sent: 3 days of orders" in done.stderr, said
    assert not _processes_under(fresh_copy), f"left running: {_processes_under(fresh_copy)}"


def _processes_under(folder: Path) -> list[str]:
    """Command lines of processes started from the copy (a stop must leave none behind)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder)) and ("python" in cmdline or "rie" in cmdline):
            found.append(cmdline)
    return found
