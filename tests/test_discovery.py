from pathlib import Path

from orgscope_lint.discovery import discover


def touch(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names(files, root):
    return sorted(p.relative_to(root).as_posix() for p in files)


def test_skips_noise_and_honours_exclude_and_gitignore(tmp_path):
    for rel in ["app/a.py", "app/b.py", "app/notes.txt", ".git/hooks/x.py",
                "node_modules/pkg/x.py", "build/lib/x.py", "app/__pycache__/a.py",
                "env1/lib/x.py", "generated/g.py", "scripts/tool.py", "pkg.egg-info/x.py"]:
        touch(tmp_path / rel)
    touch(tmp_path / "env1" / "pyvenv.cfg", "home = /usr\n")  # a virtualenv by content
    touch(tmp_path / ".gitignore", "generated/\n")
    files, problems = discover([tmp_path], tmp_path, exclude=["scripts/*.py"])
    assert names(files, tmp_path) == ["app/a.py", "app/b.py"]
    assert problems == []


def test_explicit_files_are_always_checked(tmp_path):
    touch(tmp_path / ".gitignore", "generated/\n")
    target = touch(tmp_path / "generated" / "g.py")
    files, _ = discover([target], tmp_path, exclude=["generated/**"])
    assert files == [target]


def test_missing_path_is_a_problem_not_a_crash(tmp_path):
    files, problems = discover([tmp_path / "missing.py"], tmp_path)
    assert files == []
    assert problems == [(tmp_path / "missing.py", "no such file or directory")]


def test_duplicates_are_checked_once(tmp_path):
    target = touch(tmp_path / "app" / "a.py")
    files, _ = discover([tmp_path, target], tmp_path)
    assert names(files, tmp_path) == ["app/a.py"]
