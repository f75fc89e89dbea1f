"""Where a function will run: Lambda's architecture and the Python version it will have."""

from __future__ import annotations

from lambda_ack.cli.errors import CommandError

ARCHITECTURES = {"x86_64": ("x86_64", 62), "arm64": ("aarch64", 183)}  # pip suffix, ELF e_machine
PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")
DEFAULT_VERSION, DEFAULT_ARCH = "3.12", "x86_64"
# AL2023 has glibc 2.34: every manylinux tag up to that is usable. pip (before 24) does not widen
# a manylinux_2_x platform by itself, so the tags are listed.
GLIBC_MINORS = range(34, 16, -1)


class Target:
    def __init__(self, arch: str, version: str) -> None:
        if arch not in ARCHITECTURES:
            raise CommandError(f"unknown architecture {arch!r}: use x86_64 or arm64")
        if version not in PYTHON_VERSIONS:
            raise CommandError(
                f"unsupported Python version {version!r}: use one of {', '.join(PYTHON_VERSIONS)}"
            )
        self.arch, self.version = arch, version
        self.machine, self.elf_machine = ARCHITECTURES[arch]
        self.triple = f"{self.machine}-unknown-linux-gnu"

    def platforms(self) -> list[str]:
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in GLIBC_MINORS]
        return [*tags, f"manylinux2014_{self.machine}"]

    def __str__(self) -> str:
        return f"Python {self.version} on {self.arch} (AL2023)"
