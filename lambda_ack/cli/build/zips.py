"""Zips as Lambda wants them: reproducible (sorted entries, fixed timestamps), with the modes
Lambda applies (755 for folders and executables, 644 for the rest), symlinks kept as symlinks,
within the upload limits; and unpacked the same way, for tests and the benchmark."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from pathlib import Path

from lambda_ack.cli.errors import CommandError

ZIPPED_LIMIT = 50 * 1024 * 1024  # direct upload of a zip (function or layer)
UNZIPPED_LIMIT = 250 * 1024 * 1024  # the function and all its layers, unpacked
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: nothing about when it was built


def write_zip(tree: Path, dest: Path) -> tuple[Path, int, int, str]:
    """Zip `tree`'s contents reproducibly; fail (and leave no zip) above the upload limit."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    unzipped = 0
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in _walk(tree):
            name = path.relative_to(tree).as_posix()
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode):
                entry = _entry(name + "/", stat.S_IFDIR | 0o755)
                entry.external_attr |= 0x10  # MS-DOS directory flag, for unzip tools on Windows
                archive.writestr(entry, b"")
            elif stat.S_ISLNK(info.st_mode):
                archive.writestr(_entry(name, stat.S_IFLNK | 0o777), os.readlink(path))
            else:
                executable = info.st_mode & 0o111
                data = path.read_bytes()
                unzipped += len(data)
                archive.writestr(
                    _entry(name, stat.S_IFREG | (0o755 if executable else 0o644)), data
                )
    zipped = partial.stat().st_size
    if zipped > ZIPPED_LIMIT:
        partial.unlink()
        raise CommandError(
            f"{shown(dest)} would be {mb(zipped)} zipped: over Lambda's {mb(ZIPPED_LIMIT)} "
            "limit for a direct upload. Drop what the function does not need, or split "
            "dependencies into a layer."
        )
    partial.replace(dest)
    return dest, zipped, unzipped, sha256_of(dest)


def unpack(path: Path, into: Path) -> Path:
    """Unpack a zip as Lambda does: with each entry's mode and symlinks, which
    `ZipFile.extractall` drops. Tests and the benchmark run the zips from such a folder."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            dest = into / info.filename
            mode = info.external_attr >> 16
            dest.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISDIR(mode):
                dest.mkdir(exist_ok=True)
            elif stat.S_ISLNK(mode):
                dest.symlink_to(archive.read(info).decode())
                continue
            else:
                dest.write_bytes(archive.read(info))
            dest.chmod(stat.S_IMODE(mode))
    return into


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    entry.create_system = 3  # Unix: Lambda's unzip applies the mode bits only from such entries
    entry.external_attr = mode << 16
    entry.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
    return entry


def _walk(tree: Path) -> list[Path]:
    """Every directory, file and symlink under `tree`, in one order whatever the file system."""
    found = []
    for folder, dirs, files in os.walk(tree):
        base = Path(folder)
        found += (base / name for name in dirs + files)  # a symlinked folder is not entered
    return sorted(found, key=lambda p: p.relative_to(tree).as_posix())


def size_of(tree: Path) -> int:
    return sum(p.lstat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
