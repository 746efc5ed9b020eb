"""Samples kept as differences (grader/samples.py) and `grader sample NAME DEST`.

A mistake sample holds only the files it changes and names its base in the manifest; the grader
seeds a submission's inputs from a digest of its files, so an assembled folder must be the full
folder byte for byte: names, bytes and permission bits.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader import samples
from grader.discover import read_files

from conftest import ROOT, SAMPLES, sample_dir


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def listing(folder: Path) -> dict:
    """relative path -> (bytes, permission bits) of every file below ``folder``."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write(folder: Path, files: dict) -> None:
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())


# ---------------------------------------------------------------- the bundled samples

def test_the_bundled_samples_keep_no_copies_and_all_assemble():
    """Every sample assembles; no sample holds a file that is the same as its base's."""
    assert samples.problems(SAMPLES) == []


def test_the_correct_samples_are_full_folders():
    """`grader check sample_submissions/correct` (the README's first command) grades a folder as kept."""
    manifest = yaml.safe_load((SAMPLES / "manifest.yaml").read_text())
    for name in ("correct", "correct_two_file"):
        assert "base" not in manifest[name]
        assert listing(SAMPLES / name) == listing(sample_dir(name))


def test_every_manifest_entry_is_a_sample_and_mistakes_are_kept_as_their_change():
    """The top manifest's entries and the groups' (hostile/, oracles/) are samples; a sample with a base
    holds fewer files than it is assembled from."""
    catalog = samples.Catalog.read(SAMPLES)
    names = set(catalog.names)
    top = yaml.safe_load((SAMPLES / "manifest.yaml").read_text())
    assert set(top) <= names
    for group in ("hostile", "oracles"):
        kept = yaml.safe_load((SAMPLES / group / "manifest.yaml").read_text())
        assert {group + "/" + k for k in kept} == {n for n in names if n.startswith(group + "/")}
    for name in names:
        if catalog.entry(name).get("base"):
            own = [p for p in (SAMPLES / name).rglob("*") if p.is_file()] if (SAMPLES / name).is_dir() else []
            assert len(own) < len(catalog.files(name)), name
    assert {"written", "similarity", "hostile", "oracles"} <= set(catalog.groups)


def test_an_assembled_sample_hashes_as_its_full_folder(tmp_path):
    """The digest the inputs are seeded from is the one of base + change, as a full copy would give."""
    name = "softmax_no_shift"
    full = tmp_path / "full"
    full.mkdir()
    for source in (SAMPLES / "correct", SAMPLES / name):
        for path in source.iterdir():
            (full / path.name).write_bytes(path.read_bytes())
    assert read_files(sample_dir(name)).digest() == read_files(full).digest()
    assert listing(sample_dir(name)) == listing(full)


# ---------------------------------------------------------------- the engine, on samples of its own

@pytest.fixture
def kept(tmp_path):
    """A samples folder: a full base, a change on it, a change on the change, a removal, a group."""
    root = tmp_path / "samples"
    write(root / "full", {"a.py": "A = 1\n", "b.py": "B = 1\n", "notes/readme.txt": b"caf\xe9\r\n"})
    os.chmod(root / "full" / "b.py", 0o755)
    write(root / "one", {"a.py": "A = 2\n"})
    write(root / "two", {"c.py": "C = 3\n"})
    write(root / "group" / "inner", {"b.py": "B = 9\n"})
    (root / "manifest.yaml").write_text(yaml.safe_dump({
        "full": {"mistake": "none"},
        "one": {"base": "full", "mistake": "a is 2"},
        "two": {"base": "one"},
        "fewer": {"base": "full", "remove": ["notes/readme.txt"]},
    }))
    (root / "group" / "manifest.yaml").write_text(yaml.safe_dump({"inner": {"base": "two"}}))
    return root


def test_a_chain_of_bases_is_laid_out_byte_for_byte(kept, tmp_path):
    assert samples.names(kept) == ["fewer", "full", "group/inner", "one", "two"]
    assert samples.groups(kept) == ["group"]
    made = samples.assemble(kept, "group/inner", tmp_path / "out" / "inner")
    assert made == tmp_path / "out" / "inner"
    source = {**listing(kept / "full"), **listing(kept / "one"), **listing(kept / "two"),
              **listing(kept / "group" / "inner")}
    assert listing(made) == source
    assert {k: v[0] for k, v in source.items()} == {"a.py": b"A = 2\n", "b.py": b"B = 9\n", "c.py": b"C = 3\n",
                                                    "notes/readme.txt": b"caf\xe9\r\n"}
    two = listing(samples.assemble(kept, "two", tmp_path / "two"))
    assert two["b.py"] == (b"B = 1\n", 0o755)          # the mode of the file it comes from
    assert "notes/readme.txt" not in listing(samples.assemble(kept, "fewer", tmp_path / "fewer"))
    group = samples.assemble(kept, "group", tmp_path / "group")
    assert sorted(p.name for p in group.iterdir()) == ["inner"]       # its samples, not its manifest


@pytest.mark.parametrize("entries, message", [
    ({"one": {"base": "nowhere"}}, "its base 'nowhere' is not a sample"),
    ({"one": {"base": "two"}, "two": {"base": "one"}}, "its bases loop: one -> two -> one"),
    ({"one": {"base": "one"}}, "its bases loop: one -> one"),
    ({"one": {"base": "full", "remove": ["zzz.py"]}}, "its base has no file zzz.py"),
    ({"one": {"base": "full", "remove": ["../full/a.py"]}}, "not a path inside the sample"),
    ({"one": {"base": "full", "remove": ["a.py"]}}, "a.py is both removed and held"),
])
def test_a_bad_manifest_is_one_clear_error_and_writes_nothing(kept, tmp_path, entries, message):
    manifest = yaml.safe_load((kept / "manifest.yaml").read_text())
    manifest.update(entries)
    (kept / "manifest.yaml").write_text(yaml.safe_dump(manifest))
    with pytest.raises(samples.SampleError, match=message.replace("(", r"\(")):
        samples.assemble(kept, "one", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_what_assemble_refuses(kept, tmp_path):
    with pytest.raises(samples.SampleError, match="unknown sample 'nope'"):
        samples.assemble(kept, "nope", tmp_path / "a")
    with pytest.raises(samples.SampleError, match="unknown sample"):
        samples.assemble(kept, "../samples/one", tmp_path / "b")
    busy = tmp_path / "busy"
    write(busy, {"x": "x"})
    with pytest.raises(samples.SampleError, match="not empty"):
        samples.assemble(kept, "one", busy)
    (tmp_path / "empty").mkdir()
    assert samples.assemble(kept, "one", tmp_path / "empty") == tmp_path / "empty"
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(samples.SampleError, match="is a link"):
        samples.assemble(kept, "one", tmp_path / "link")
    assert list((tmp_path / "elsewhere").iterdir()) == []
    (kept / "one" / "out.py").symlink_to("/etc/passwd")
    with pytest.raises(samples.SampleError, match="out.py is a link"):
        samples.assemble(kept, "one", tmp_path / "c")


# ---------------------------------------------------------------- the command

def test_grader_sample_makes_a_folder_to_try(tmp_path):
    dest = tmp_path / "try" / "softmax_no_shift"
    run = cli("sample", "softmax_no_shift", str(dest))
    assert run.returncode == 0, run.stderr
    assert "4 files" in run.stdout
    assert listing(dest) == listing(sample_dir("softmax_no_shift"))
    again = cli("sample", "softmax_no_shift", str(dest))
    assert again.returncode == 2 and "not empty" in again.stderr and len(again.stderr.splitlines()) == 1


def test_grader_sample_names_the_unknown_and_lists_the_known(tmp_path):
    run = cli("sample", "softmax_no_shfit", str(tmp_path / "x"))
    assert run.returncode == 2
    assert run.stderr.splitlines() == [run.stderr.strip()]
    assert "unknown sample 'softmax_no_shfit'" in run.stderr and "did you mean 'softmax_no_shift'" in run.stderr
    assert not (tmp_path / "x").exists()
    listed = cli("sample", "--list")
    assert listed.returncode == 0
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == samples.names(SAMPLES)
    assert any(line.startswith("softmax_no_shift ") and "no max shift" in line for line in listed.stdout.splitlines())
    mine = cli("sample", "--list", "--samples", str(tmp_path))
    assert mine.returncode == 2 and "no samples folder" in mine.stderr
