"""No input takes the run down: every bad file becomes an ORG001 finding or an
`errors` entry naming it, and every other file is still checked. A file that
cannot be read or decoded fails the run (it may hold an unscoped query). Each test
runs the real command line next to a control file with a known finding."""
import builtins
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from orgscope_lint.cli import BUG_HINT, main

CALL = 'db.select("calls", {"id": call_id})'
CONTROL = f"def control(call_id):\n    return {CALL}\n"  # ORG101 on line 2


def project(tmp_path: Path, files: dict) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.orgscope-lint]\n", encoding="utf-8")
    (root / "control.py").write_text(CONTROL, encoding="utf-8")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def check(root: Path, *extra: str):
    # every rule runs; the DB and parse rules are the ones these inputs exercise
    result = CliRunner().invoke(main, ["check", str(root), "--format", "json", "--no-cache",
                                       "--jobs", "1", "--select", "ORG0,ORG1", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    document = json.loads(result.stdout)
    return result.exit_code, document, result.stderr


def findings(document, path=None):
    return sorted((f["path"], f["line"], f["rule"]) for f in document["findings"]
                  if path is None or f["path"] == path)


def errors(document):
    return {e["path"]: e["message"] for e in document["errors"]}


def assert_control_checked(document):
    assert ("control.py", 2, "ORG101") in findings(document)


@pytest.mark.parametrize("content", ["", "\n\n\n", "# only a comment\n# and another",
                                     "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n"])
def test_empty_and_comment_only_files(tmp_path, content):
    code, document, _ = check(project(tmp_path, {"quiet.py": content}))
    assert code == 1
    assert findings(document) == [("control.py", 2, "ORG101")]
    assert document["errors"] == []


def messages(document, path):
    return [f["message"] for f in document["findings"] if f["path"] == path]


def test_non_utf8_without_a_coding_cookie_is_org001(tmp_path):
    source = f"def f(call_id):\n    return {CALL}\n# caf\xe9\n".encode("latin-1")
    code, document, _ = check(project(tmp_path, {"latin.py": source}), "--select", "ORG001")
    assert code == 1  # the file may hold an unscoped query: never a silent pass
    assert findings(document, "latin.py") == [("latin.py", 1, "ORG001")]
    byte = source.index(b"\xe9")
    assert messages(document, "latin.py") == [
        f"not valid UTF-8 at byte {byte} and no encoding declaration"]
    assert document["errors"] == []


def test_invalid_bytes_under_a_coding_cookie_name_the_declaration(tmp_path):
    source = b"# -*- coding: utf-8 -*-\nx = '\xff'\n"
    code, document, _ = check(project(tmp_path, {"bad.py": source}))
    assert code == 1
    byte = source.index(b"\xff")
    assert messages(document, "bad.py") == [f"not valid UTF-8 at byte {byte} (declared on line 1)"]
    assert_control_checked(document)


def test_non_utf8_with_a_coding_cookie_is_checked(tmp_path):
    source = (f"# -*- coding: latin-1 -*-\n# caf\xe9\ndef f(call_id):\n"
              f"    return {CALL}\n").encode("latin-1")
    _, document, _ = check(project(tmp_path, {"latin.py": source}))
    assert findings(document, "latin.py") == [("latin.py", 4, "ORG101")]
    assert document["errors"] == []


def test_a_bad_coding_cookie_is_org001(tmp_path):
    source = b"# -*- coding: no-such-codec -*-\nx = 1\n"
    code, document, _ = check(project(tmp_path, {"cookie.py": source}), "--select", "ORG001")
    assert code == 1
    assert findings(document, "cookie.py") == [("cookie.py", 1, "ORG001")]
    assert messages(document, "cookie.py")[0].startswith(
        "bad encoding declaration: unknown encoding")


def test_utf8_with_bom_is_checked_at_the_right_place(tmp_path):
    source = b"\xef\xbb\xbf" + f"def f(call_id):\n    return {CALL}\n".encode()
    _, document, _ = check(project(tmp_path, {"bom.py": source}))
    found = [f for f in document["findings"] if f["path"] == "bom.py"]
    assert [(f["line"], f["column"], f["rule"]) for f in found] == [(2, 12, "ORG101")]


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_endings(tmp_path, newline):
    text = f"import os\n\n\ndef f(call_id):\n    x = 1\n    return {CALL}\n"
    _, document, _ = check(project(tmp_path, {"endings.py": text.replace("\n", newline)
                                              .encode()}))
    found = [f for f in document["findings"] if f["path"] == "endings.py"]
    assert [(f["line"], f["column"], f["end_line"], f["rule"]) for f in found] == \
        [(6, 12, 6, "ORG101")]


def test_a_five_megabyte_file(tmp_path):
    blob = ("lorem ipsum dolor sit amet " * 3 + "\n") * 64000
    text = (f"def before(call_id):\n    return {CALL}\n\n"
            f'DATA = """\n{blob}"""\n\n'
            f"def after(call_id):\n    return {CALL}\n")
    assert len(text.encode()) > 5_000_000
    root = project(tmp_path, {"big.py": text})
    # over the default max-file-size (1 MB): not parsed, said so, the run goes on
    code, document, stderr = check(root, "--select", "ORG001")
    assert code == 0 and findings(document) == []
    size = len(text.encode()) / 1_000_000
    assert errors(document) == {"big.py": f"skipped: {size:.1f} MB > max-file-size (1.0 MB)"}
    assert document["summary"]["skipped"] == 1
    terminal = CliRunner().invoke(main, ["check", str(root), "--no-cache", "--jobs", "1"],
                                  env={"NO_COLOR": "1"})
    assert "1 skipped (larger than max-file-size)" in terminal.stdout
    # `max-file-size = 0`: no limit
    (root / "pyproject.toml").write_text("[tool.orgscope-lint]\nmax-file-size = 0\n")
    _, document, _ = check(root)
    last = text.count("\n")
    assert findings(document, "big.py") == [("big.py", 2, "ORG101"), ("big.py", last, "ORG101")]


def _deep(depth: int):
    return {
        "parens.py": "x = " + "(" * depth + "1" + ")" * depth + "\n",
        "lists.py": "x = " + "[" * depth + "]" * depth + "\n",
        "calls.py": "x = " + "g(" * depth + ")" * depth + "\n",
        "attributes.py": "x = a" + ".b" * (depth * 5) + "\n",
        "call_chain.py": "x = a" + ".b()" * depth + "\n",
        "sum.py": "x = " + " + ".join(["1"] * depth * 5) + "\n",
        "unary.py": "x = " + "-" * 2900 + "1\n",
        "strings.py": "def f(call_id):\n    return db.select('calls', {'id': call_id, 'k': "
                      + " ".join(['"a"'] * depth * 5) + "})\n",
        "topics.py": "topics = {'a': " + " ".join(["'line\\n'"] * 3000) + "}\n",
    }


def test_deep_nesting_never_escapes(tmp_path):
    """Shapes that overflow libcst's native stack (a crash, not an exception)
    or Python's recursion limit: each is a clean ORG001 or `errors` entry."""
    files = _deep(4000)
    code, document, stderr = check(project(tmp_path, files))
    assert code == 1, stderr
    reported = {f["path"] for f in document["findings"] if f["rule"] == "ORG001"}
    reported |= set(errors(document))
    # within CPython's nesting budget, the unary chain and the long
    # concatenation are ordinary Python: checked, nothing to report
    assert reported | {"topics.py", "unary.py"} >= set(files)
    assert "internal error" not in stderr
    assert_control_checked(document)


def test_python2_syntax(tmp_path):
    _, document, _ = check(project(tmp_path, {"legacy.py": 'import os\nprint "hello"\n'}))
    assert findings(document, "legacy.py") == [("legacy.py", 2, "ORG001")]
    assert_control_checked(document)


MODERN = f'''
type Rows = list[dict[str, str]]


def first[T](items: list[T]) -> T:
    return items[0]


class Repo[T]:
    def get(self, call_id: T):
        return {CALL}


def route(event, call_id):
    match event:
        case {{"kind": "read", **rest}}:
            return {CALL}
        case [first, *_] if first:
            return None
    try:
        pass
    except* ValueError:
        pass
    return f"{{f"{{call_id!r:>{{10}}}}"}}"
'''


def test_syntax_from_python_3_12(tmp_path):
    _, document, _ = check(project(tmp_path, {"modern.py": MODERN}))
    lines = [line for _, line, rule in findings(document, "modern.py") if rule == "ORG101"]
    assert lines == [11, 17]


def test_syntax_from_python_3_14_never_crashes(tmp_path):
    """t-strings (PEP 750) and unparenthesised except lists (PEP 758): checked
    when the parser knows them, an ORG001 when it does not; never fatal."""
    tail = f"\n\ndef f(call_id):\n    return {CALL}\n"
    files = {"tstrings.py": 'name = "x"\ngreeting = t"hello {name}"' + tail,
             "excepts.py": "try:\n    pass\nexcept ValueError, TypeError:\n    pass" + tail}
    code, document, stderr = check(project(tmp_path, files))
    assert code == 1 and "internal error" not in stderr
    assert [rule for _, _, rule in findings(document, "tstrings.py")] in (["ORG101"], ["ORG001"])
    assert [rule for _, _, rule in findings(document, "excepts.py")] in (["ORG101"], ["ORG001"])
    assert_control_checked(document)


def test_unreadable_file(tmp_path, monkeypatch):
    root = project(tmp_path, {"secret.py": f"def f(call_id):\n    return {CALL}\n"})
    secret = root / "secret.py"
    os.chmod(secret, 0)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # root reads a mode-000 file anyway: make the read fail as it would for a user
        real_open = builtins.open

        def denying_open(file, *args, **kwargs):
            if str(file) == str(secret):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", denying_open)
    try:
        code, document, _ = check(root)
    finally:
        os.chmod(secret, 0o644)
    assert code == 1
    assert findings(document, "secret.py") == [("secret.py", 1, "ORG001")]
    assert messages(document, "secret.py") == ["cannot read: Permission denied"]
    assert_control_checked(document)


def test_a_directory_named_like_a_python_file(tmp_path):
    root = project(tmp_path, {"pkg.py/inner.py": f"def f(call_id):\n    return {CALL}\n"})
    _, document, _ = check(root)
    assert findings(document, "pkg.py/inner.py") == [("pkg.py/inner.py", 2, "ORG101")]
    assert document["errors"] == []
    _, document, _ = check(root / "pkg.py")
    assert ("pkg.py/inner.py", 2, "ORG101") in findings(document)


def test_symlink_loops(tmp_path):
    root = project(tmp_path, {"pkg/mod.py": f"def f(call_id):\n    return {CALL}\n"})
    os.symlink("..", root / "pkg" / "up")  # a directory loop
    os.symlink("b.py", root / "a.py")  # a file loop
    os.symlink("a.py", root / "b.py")
    code, document, _ = check(root)
    assert code == 1
    assert findings(document) == [("control.py", 2, "ORG101"), ("pkg/mod.py", 2, "ORG101")]
    assert set(errors(document)) == {"a.py", "b.py"}
    assert "symbolic link loop" in errors(document)["a.py"]


def test_paths_with_spaces_and_non_ascii_names(tmp_path):
    name = "my services/café über 数据.py"
    _, document, _ = check(project(tmp_path, {name: f"def f(call_id):\n    return {CALL}\n"}))
    assert findings(document, name) == [(name, 2, "ORG101")]


def test_an_exception_in_a_rule_is_reported_and_the_rest_still_checked(tmp_path, monkeypatch):
    from orgscope_lint.rules.db import UnscopedRead

    original = UnscopedRead.findings_in_file

    def flaky(self, facts, config):
        if facts.path == "broken.py":
            raise ValueError("simulated bug in a rule")
        return original(self, facts, config)

    monkeypatch.setattr(UnscopedRead, "findings_in_file", flaky)
    root = project(tmp_path, {"broken.py": f"def f(call_id):\n    return {CALL}\n",
                              "zz_after.py": f"def g(call_id):\n    return {CALL}\n"})
    code, document, stderr = check(root)
    assert code == 3
    assert "internal error in broken.py" in stderr and BUG_HINT in stderr
    assert "simulated bug in a rule" in stderr
    assert errors(document)["broken.py"]
    assert ("zz_after.py", 2, "ORG101") in findings(document)
    assert_control_checked(document)


def test_an_exception_in_a_project_rule_is_reported(tmp_path, monkeypatch):
    from orgscope_lint.rules.db import UnscopedWrapperCall

    def broken(self, project, emit):
        raise KeyError("simulated bug in a project rule")

    monkeypatch.setattr(UnscopedWrapperCall, "check_project", broken)
    code, document, stderr = check(project(tmp_path, {}))
    assert code == 3
    assert "internal error in <project>" in stderr and BUG_HINT in stderr
    assert "ORG106" in errors(document)["<project>"]
    assert_control_checked(document)


def test_the_nesting_verdict_does_not_depend_on_the_callers_stack_depth():
    """CPython's parser counts nesting against the recursion limit from the
    current depth: called deeper (as in a pool worker), the same file was once
    refused where a serial run accepted it."""
    from orgscope_lint.parsing import UnparsableSource, parse_module

    text = "x = " + "-" * 2900 + "1\n"

    def verdict_at(depth):
        if depth:
            return verdict_at(depth - 1)
        try:
            parse_module(text.encode(), text)
        except UnparsableSource as refusal:
            return ("refused", refusal.message)
        return ("parsed",)

    def in_a_fresh_thread(depth):
        import threading
        outcome = []
        thread = threading.Thread(target=lambda: outcome.append(verdict_at(depth)))
        thread.start()
        thread.join()
        return outcome[0]

    verdicts = {in_a_fresh_thread(depth) for depth in (0, 100, 400)}
    assert verdicts == {("parsed",)}  # CPython itself accepts 2,900 levels at the top


def test_serial_and_pooled_runs_agree_on_deep_nesting(tmp_path):
    root = project(tmp_path, {"unary.py": "x = " + "-" * 2900 + "1\n",
                              "other.py": CONTROL})
    _, serial, _ = check(root)
    result = CliRunner().invoke(main, ["check", str(root), "--format", "json", "--no-cache",
                                       "--jobs", "2", "--select", "ORG0,ORG1"])
    pooled = json.loads(result.stdout)
    assert findings(pooled) == findings(serial)
    assert errors(pooled) == errors(serial)
