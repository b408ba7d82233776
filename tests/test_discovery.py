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


def test_what_the_defaults_and_gitignore_skip_is_counted_and_shown(tmp_path):
    """A package named `env` or `build` is skipped by default: `init` and
    `check --show-settings` say so (hidden directories and caches are not
    listed; `exclude` is the user's own choice and not listed either)."""
    from click.testing import CliRunner

    from orgscope_lint import cli
    from orgscope_lint.discovery import Skipped

    for rel in ["app/a.py", "env/settings.py", "build/steps.py", ".git/x.py",
                "app/__pycache__/a.py", "pkg.egg-info/x.py", "generated/g.py", "app/gen.py",
                "scripts/tool.py"]:
        touch(tmp_path / rel)
    touch(tmp_path / ".gitignore", "generated/\napp/gen.py\n")
    touch(tmp_path / "tools" / "build" / "executor.ts")  # no Python in it: not worth a mention
    touch(tmp_path / "node_modules" / "gyp" / "x.py")  # never the project's code
    skipped = Skipped()
    files, _ = discover([tmp_path], tmp_path, exclude=["scripts/"], skipped=skipped)
    assert names(files, tmp_path) == ["app/a.py"]
    assert sorted(skipped.default_dirs) == ["build/", "env/", "pkg.egg-info/"]
    assert (skipped.gitignored_dirs, skipped.gitignored_files) == (["generated/"], ["app/gen.py"])
    assert skipped.describe() == ("3 directories by default (build/, env/, pkg.egg-info/); "
                                  "1 directory and 1 Python file by .gitignore "
                                  "(generated/, app/gen.py)")
    settings = CliRunner().invoke(cli.main, ["check", "--show-settings", str(tmp_path)])
    assert "Skipped: 3 directories by default (build/, env/, pkg.egg-info/); 1 directory" \
           in settings.output
    init = CliRunner().invoke(cli.main, ["init", "--dry-run", str(tmp_path)])
    assert "skipped 3 directories by default" in init.stderr
    assert "# Not read: 3 directories by default (build/, env/, pkg.egg-info/)" in init.stdout
