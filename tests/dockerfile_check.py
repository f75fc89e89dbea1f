"""The Dockerfile, read and checked without a Docker engine.

`parse` reads instructions (continuation lines joined, comments kept apart) into stages.
`materialize` lays each stage's files out in a folder as its COPY lines say (multi-stage
`--from` included, `.dockerignore` applied, relative paths against WORKDIR); RUN lines go to a
callback, which may replay them. `check` materializes the context files alone and lists every
rule the image breaks; an empty list means none.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BASE_IMAGE = "public.ecr.aws/lambda/provided"
VENDOR = "/var/runtime/vendor"  # bootstrap puts <its folder>/vendor on PYTHONPATH
BOOTSTRAP = "/var/runtime/bootstrap"  # where the base image's entrypoint runs it from
TASK_ROOT = "/var/task"


@dataclass
class Instruction:
    keyword: str
    args: str  # after the flags
    line: int
    flags: dict[str, str] = field(default_factory=dict)

    def words(self) -> list[str]:
        return shlex.split(self.args)


@dataclass
class Stage:
    base: str  # as written, variables unexpanded
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def args(self) -> dict[str, str]:
        """The stage's own ARGs, with their defaults."""
        return dict(arg.args.partition("=")[::2] for arg in self.all("ARG"))


@dataclass
class Dockerfile:
    args: dict[str, str]  # ARGs before the first FROM, with their defaults
    stages: list[Stage]
    comments: str

    def stage(self, ref: str) -> int:
        for index, stage in enumerate(self.stages):
            if stage.name == ref or str(index) == ref:
                return index
        raise ValueError(f"no stage {ref!r}")


def parse(text: str) -> Dockerfile:
    logical: list[tuple[int, str]] = []
    comments: list[str] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#"):  # a comment, also between continuation lines
            comments.append(stripped[1:].strip())
            continue
        if not stripped:  # blank lines end nothing, not even a continued instruction
            continue
        start = start or number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append((start, pending + stripped))
        pending, start = "", 0
    if pending:
        logical.append((start, pending))
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, line in logical:
        keyword, _, rest = line.partition(" ")
        flags: dict[str, str] = {}
        rest = rest.strip()
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = value
            rest = rest.strip()
        instruction = Instruction(keyword.upper(), rest, number, flags)
        if instruction.keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif not stages and instruction.keyword == "ARG":
            key, _, default = rest.partition("=")
            args[key] = default
        elif stages:
            stages[-1].instructions.append(instruction)
    return Dockerfile(args, stages, "\n".join(comments))


def expand(text: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m[1] or m[2], ""), text)


def commands(run: Instruction, variables: dict[str, str] | None = None) -> list[list[str]]:
    """A RUN line as its shell commands (split at && and ;), each as words; with `variables`,
    `$X` and `${X}` are replaced as the shell would (an empty word goes)."""
    found: list[list[str]] = [[]]
    for word in run.words():
        if word in ("&&", ";"):
            found.append([])
        elif variables is None:
            found[-1].append(word)
        elif expanded := expand(word, variables):
            found[-1].append(expanded)
    return [c for c in found if c]


def is_pip_install(command: list[str]) -> bool:
    """`pip install ...`, `pip3 install ...` or `python3.12 -m pip install ...`."""
    if "install" not in command:
        return False
    return any(re.fullmatch(r"pip[0-9.]*", w) for w in command[: command.index("install")])


def pip_installs(stage: Stage) -> list[list[str]]:
    return [c for run in stage.all("RUN") for c in commands(run) if is_pip_install(c)]


def option(command: list[str], name: str) -> str | None:
    for i, word in enumerate(command):
        if word == name and i + 1 < len(command):
            return command[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


# --- .dockerignore ---------------------------------------------------------------------------


def ignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(is an exception `!`, pattern) in file order; the last rule that matches wins."""
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = posixpath.normpath(line.lstrip("!").strip()).lstrip("/")
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        rules.append((keep, re.compile(regex)))
    return rules


def ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether the build context leaves this path out (a rule on a folder covers what is in it)."""
    parts = relative.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for keep, pattern in rules:
        if any(pattern.fullmatch(p) for p in prefixes):
            verdict = not keep
    return verdict


# --- laying out the stages -------------------------------------------------------------------

RunStep = Callable[[Stage, Instruction, Path], None]  # (stage, RUN, its WORKDIR on disk)


@dataclass
class Layout:
    roots: list[Path]  # one folder per stage, standing for its /
    # image path -> where it came from: "context:<path>" for a file of the build context,
    # "pip:<stage>" for a pip --target folder; carried along by COPY --from
    origins: list[dict[str, str]]
    problems: list[str]

    @property
    def final(self) -> Path:
        return self.roots[-1]

    def on_disk(self, image_path: str, stage: int = -1) -> Path:
        return self.roots[stage] / image_path.lstrip("/")


def materialize(
    dockerfile: Dockerfile,
    context: Path,
    out: Path,
    run: RunStep | None = None,
    dockerignore: str | None = None,
) -> Layout:
    if dockerignore is None:
        ignore_file = context / ".dockerignore"
        dockerignore = ignore_file.read_text() if ignore_file.exists() else ""
    rules = ignore_rules(dockerignore)
    layout = Layout([], [], [])
    for index, stage in enumerate(dockerfile.stages):
        root = out / f"stage{index}"
        root.mkdir(parents=True)
        layout.roots.append(root)
        origins: dict[str, str] = {}
        layout.origins.append(origins)
        workdir = "/"
        for instruction in stage.instructions:
            if instruction.keyword == "WORKDIR":
                workdir = posixpath.join(workdir, instruction.args)
                (root / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
            elif instruction.keyword == "COPY":
                _copy(instruction, workdir, layout, index, context, rules, dockerfile)
            elif instruction.keyword == "RUN":
                for command in filter(is_pip_install, commands(instruction)):
                    target = option(command, "--target")
                    if target:
                        origins[posixpath.join(workdir, target)] = f"pip:{index}"
                if run is not None:
                    run(stage, instruction, root / workdir.lstrip("/"))
    return layout


def _copy(
    instruction: Instruction,
    workdir: str,
    layout: Layout,
    index: int,
    context: Path,
    rules: list[tuple[bool, re.Pattern[str]]],
    dockerfile: Dockerfile,
) -> None:
    words = (
        json.loads(instruction.args) if instruction.args.startswith("[") else instruction.words()
    )
    *sources, dest = words
    dest_path = posixpath.join(workdir, dest)
    into_folder = dest.endswith("/") or len(sources) > 1
    where = f"line {instruction.line}: COPY"
    source_stage = instruction.flags.get("from")
    for source in sources:
        if source_stage is None:
            carried = _from_context(source, where, layout, context, rules)
            base = context / source
            is_dir = base.is_dir()
        else:
            from_index = dockerfile.stage(source_stage)
            base = layout.on_disk(source, from_index)
            stem = source.rstrip("/")
            carried = {  # by path below the source: "" for itself, "/x" for what is in it
                path[len(stem) :]: origin
                for path, origin in layout.origins[from_index].items()
                if path == stem or path.startswith(stem + "/")
            }
            is_dir = base.is_dir() or not base.exists()  # a folder a RUN makes, not laid out
        if carried is None:  # the problem is said
            continue
        if source_stage is not None and not (base.exists() or carried):
            layout.problems.append(f"{where} --from={source_stage} {source}: nothing there")
            continue
        if is_dir:
            target = dest_path
            on_disk = base.rglob("*") if base.is_dir() else []
            files = {"/" + p.relative_to(base).as_posix(): p for p in on_disk if p.is_file()}
            if source_stage is None:  # the context holds what .dockerignore leaves in it
                files = {below: f for below, f in files.items() if below in carried}
        else:
            target = (
                posixpath.join(dest_path, posixpath.basename(source)) if into_folder else dest_path
            )
            files = {"": base}
        for below, file in sorted(files.items()):
            _place(file, layout.roots[index], target.rstrip("/") + below)
        for below, origin in carried.items():
            layout.origins[index][target.rstrip("/") + below] = origin


def _from_context(
    source: str,
    where: str,
    layout: Layout,
    context: Path,
    rules: list[tuple[bool, re.Pattern[str]]],
) -> dict[str, str] | None:
    """The context's files under `source` that the build sees, by path below it as in `_copy`;
    None (and a problem said) when the source is missing or excluded."""
    relative = posixpath.normpath(source)
    base = context / relative
    if not base.exists():
        layout.problems.append(f"{where} {source}: not in the build context")
        return None
    if ignored(relative, rules):
        layout.problems.append(f"{where} {source}: excluded by .dockerignore")
        return None
    for tracked in _git_files(context, relative):
        if ignored(tracked, rules):
            layout.problems.append(f"{where} {source}: {tracked} excluded by .dockerignore")
    if base.is_file():
        return {"": f"context:{relative}"}
    seen = {}
    for file in (p for p in base.rglob("*") if p.is_file()):
        name = file.relative_to(context).as_posix()
        if not ignored(name, rules):
            seen["/" + file.relative_to(base).as_posix()] = f"context:{name}"
    return seen


def _place(file: Path, root: Path, image_path: str) -> None:
    destination = root / image_path.lstrip("/")
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(file, destination)


def _git_files(context: Path, relative: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--", relative], cwd=context, capture_output=True, text=True
    )
    return listed.stdout.split() if listed.returncode == 0 else []


def git_mode(context: Path, relative: str) -> str | None:
    listed = subprocess.run(
        ["git", "ls-files", "-s", "--", relative], cwd=context, capture_output=True, text=True
    )
    return listed.stdout.split()[0] if listed.stdout else None


# --- the rules -------------------------------------------------------------------------------


def handler_of(dockerfile: Dockerfile) -> list[str] | None:
    """The final stage's CMD as its JSON list, or None when it is not one."""
    cmds = dockerfile.stages[-1].all("CMD")
    if not cmds:
        return None
    try:
        value = json.loads(cmds[-1].args)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) else None


def defines(module: Path, name: str) -> bool:
    """Whether the module binds `name` at top level (def, async def, assignment or import)."""
    for node in ast.parse(module.read_text(), str(module)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
        if isinstance(node, ast.Import | ast.ImportFrom) and any(
            (a.asname or a.name) == name for a in node.names
        ):
            return True
    return False


def check(
    dockerfile_path: Path, context: Path, scratch: Path, dockerignore: str | None = None
) -> list[str]:
    """Every rule the Dockerfile breaks, as a sentence; [] when it keeps them all."""
    dockerfile = parse(dockerfile_path.read_text())
    if not dockerfile.stages:
        return ["no FROM"]
    layout = materialize(dockerfile, context, scratch, dockerignore=dockerignore)
    problems = list(layout.problems)
    final = dockerfile.stages[-1]

    tag = dockerfile.args.get("BASE_TAG", "")
    if not re.fullmatch(r"al2023(@sha256:[0-9a-f]{64})?", tag):
        problems.append(f"ARG BASE_TAG defaults to {tag!r}, not al2023 (x86_64)")
    if "BASE_TAG=al2023-arm64" not in dockerfile.comments:
        problems.append("the arm64 base (--build-arg BASE_TAG=al2023-arm64) is not documented")
    for stage in dockerfile.stages:
        base = stage.base
        if base in [s.name for s in dockerfile.stages]:
            continue
        if not base.startswith(f"{BASE_IMAGE}:$") or not expand(base, dockerfile.args).startswith(
            f"{BASE_IMAGE}:al2023"
        ):
            problems.append(f"FROM {base}: not {BASE_IMAGE} with the al2023 tag from an ARG")
    if final.base in [s.name for s in dockerfile.stages]:
        problems.append("the final stage is not on the Lambda base image")

    if final.all("ENTRYPOINT"):
        problems.append("the final stage sets an ENTRYPOINT: the base image's must stay")
    handler = handler_of(dockerfile)
    if handler is None or len(handler) != 1 or not isinstance(handler[0], str):
        problems.append(f"CMD is not a JSON list of exactly one handler string: {handler}")
    else:
        module, _, function = handler[0].rpartition(".")
        source = layout.on_disk(f"{TASK_ROOT}/{module}.py")
        if not source.is_file():
            problems.append(f"CMD {handler[0]}: no {TASK_ROOT}/{module}.py in the image")
        elif not defines(source, function):
            problems.append(f"CMD {handler[0]}: {module}.py defines no {function}")

    origin = layout.origins[-1].get(BOOTSTRAP, "")
    if not origin.startswith("context:"):
        problems.append(f"{BOOTSTRAP} is not bootstrap from the repository")
    else:
        relative = origin.removeprefix("context:")
        mode = (context / relative).stat().st_mode
        if git_mode(context, relative) != "100755" or mode & 0o111 != 0o111:
            problems.append(f"{relative} is not executable in git and in the tree")
    for package, entry in (("lambda_ack", "__main__.py"), ("runtime", "__init__.py")):
        if not layout.on_disk(f"/var/runtime/{package}/{entry}").is_file():
            problems.append(f"the {package} package is not at /var/runtime/{package}")

    installs = [c for stage in dockerfile.stages[:-1] for c in pip_installs(stage)]
    if not installs:
        problems.append("no pip install in a builder stage")
    for command in installs:
        for needed in ("--require-hashes", "--only-binary=:all:", "--no-cache-dir"):
            if needed not in command:
                problems.append(f"pip install without {needed}")
        if option(command, "-r") != "requirements.txt":
            problems.append("pip install does not install -r requirements.txt")
    if not layout.origins[-1].get(VENDOR, "").startswith("pip:"):
        problems.append(f"{VENDOR} is not the builder's pip --target folder")
    for stage in dockerfile.stages[:-1]:
        runs = [
            (i, c)
            for i, run in enumerate(stage.instructions)
            for c in commands(run)
            if run.keyword == "RUN"
        ]
        compiled = [
            i
            for i, c in runs
            if "compileall" in c and option(c, "--invalidation-mode") == "unchecked-hash"
        ]
        copies = [
            i for i, instruction in enumerate(stage.instructions) if instruction.keyword == "COPY"
        ]
        if any(installs) and not compiled:
            problems.append("no compileall --invalidation-mode unchecked-hash in the builder")
        elif compiled and copies and max(copies) > max(compiled):
            problems.append("a COPY in the builder comes after compileall: not precompiled")

    final_runs = [c for run in final.all("RUN") for c in commands(run)]
    if any("pip" in word for command in final_runs for word in command):
        problems.append("the final stage installs or runs pip")
    packages = [w for c in final_runs if c[:2] == ["dnf", "install"] for w in c[2:]]
    pythons = [p for p in packages if re.fullmatch(r"python3\.\d+", p)]
    wanted = {f"/usr/bin/{p}" for p in pythons}
    env = {
        key: value
        for instruction in final.all("ENV")
        for key, _, value in [instruction.args.partition("=")]
    }
    if env.get("LAMBDA_RUNTIME_PYTHON") not in wanted:
        problems.append(
            f"LAMBDA_RUNTIME_PYTHON={env.get('LAMBDA_RUNTIME_PYTHON')} is not the interpreter "
            f"dnf installs in the final stage ({sorted(wanted)})"
        )
    if not any(c[:3] == ["dnf", "clean", "all"] for c in final_runs):
        problems.append("the final stage does not clean dnf's caches")
    return problems
