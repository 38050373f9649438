"""docs/troubleshooting.md stays in step with the errors helpers/ raises.

- Every public exception class defined in helpers/ (found by reading the source: classes deriving,
  directly or through each other, from Python's exceptions) has an entry: a heading that names it
  in backticks. A new error class without one fails with the heading to add.
- Every error class a heading names still exists (in helpers/ or Python).
- Every quoted message (`> "..."`, `…` for the parts that vary) is still in helpers/' strings,
  so a reworded message cannot leave the page showing the old words.
Private classes (`_Name`) are caught inside helpers/ and never reach a user.
"""
from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELPERS = ROOT / "helpers"
PAGE = ROOT / "docs" / "troubleshooting.md"

BUILTIN_ERRORS = {name for name, value in vars(builtins).items()
                  if isinstance(value, type) and issubclass(value, BaseException)}
HEADING = re.compile(r"^#{2,4} (.+)$", re.M)
QUOTE = re.compile(r'^> "(.+)"$', re.M)
CLASS_NAME = re.compile(r"`([A-Z][a-z][A-Za-z]*)`")


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Attribute):  # exchange.ExchangeError, prawcore.exceptions.Forbidden
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def exception_classes(root: Path = HELPERS) -> dict[str, str]:
    """Public exception classes defined under `root`: name -> file (relative to the repository)."""
    defined: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [b for b in map(_base_name, node.bases) if b]
                defined[node.name] = (str(path.relative_to(root.parent)), bases)
    errors: set[str] = set()
    grew = True
    while grew:  # a class is an error when one of its bases is: Python's, another one here, or a library's *Error
        grew = False
        for name, (_, bases) in defined.items():
            if name not in errors and any(b in BUILTIN_ERRORS or b in errors or b.endswith(("Error", "Exception"))
                                          for b in bases):
                errors.add(name)
                grew = True
    return {name: defined[name][0] for name in sorted(errors) if not name.startswith("_")}


def string_pieces(root: Path = HELPERS) -> list[str]:
    """Every string literal under `root`, including the literal parts of f-strings."""
    pieces = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                pieces.append(node.value)
    return pieces


def entries(page: str) -> set[str]:
    """Class names the page's headings name in backticks."""
    return {name for heading in HEADING.findall(page) for name in CLASS_NAME.findall(heading)}


def missing_entries(classes: dict[str, str], page: str) -> list[str]:
    """What to add to the page, one sentence per class without an entry."""
    have = entries(page)
    return [f"{where} defines {name}, an error a notebook can show to a user, but docs/troubleshooting.md has "
            f"no entry for it: add a heading '### `{name}`: <what went wrong>', a line '> \"<the start of its "
            "message>\"', then what it means and what to change."
            for name, where in classes.items() if name not in have]


def stale_entries(classes: dict[str, str], page: str) -> list[str]:
    return [f"docs/troubleshooting.md has an entry for `{name}`, which neither helpers/ nor Python defines any "
            "more: rename the entry after the class that replaced it, or remove it."
            for name in sorted(entries(page)) if name not in classes and name not in BUILTIN_ERRORS]


def unquoted_messages(page: str, pieces: list[str]) -> list[str]:
    """Quoted messages with a part (between `…`) that no string in helpers/ contains."""
    problems = []
    for quote in QUOTE.findall(page):
        for part in (p.strip() for p in quote.split("…")):
            if len(part) >= 4 and not any(part in piece for piece in pieces):
                problems.append(f"docs/troubleshooting.md quotes {quote!r}, but no string in helpers/ contains "
                                f"{part!r} any more: copy the message's current words from the code.")
                break
    return problems


def test_every_error_class_in_helpers_has_an_entry():
    classes = exception_classes()
    assert len(classes) >= 10, f"found only {sorted(classes)}: is the search for exception classes broken?"
    problems = missing_entries(classes, PAGE.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_every_error_class_the_page_names_exists():
    problems = stale_entries(exception_classes(), PAGE.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_every_quoted_message_is_still_in_the_code():
    page = PAGE.read_text(encoding="utf-8")
    assert len(QUOTE.findall(page)) >= 20, "the page quotes too few messages: is the quote format still '> \"...\"'?"
    problems = unquoted_messages(page, string_pieces())
    assert not problems, "\n".join(problems)


def test_a_new_error_class_without_an_entry_is_named_with_what_to_add(tmp_path):
    package = tmp_path / "helpers"
    (package / "live").mkdir(parents=True)
    (package / "live" / "thing.py").write_text(
        "import prawcore\n"
        "class ThingError(RuntimeError):\n    pass\n"
        "class WorseThing(ThingError):\n    pass\n"          # an error through another class here
        "class Banned(prawcore.exceptions.ForbiddenError):\n    pass\n"  # through a library's error
        "class _Internal(Exception):\n    pass\n"            # private: caught inside, never shown
        "class Plain:\n    pass\n", encoding="utf-8")
    classes = exception_classes(package)
    assert classes == {"Banned": "helpers/live/thing.py", "ThingError": "helpers/live/thing.py",
                       "WorseThing": "helpers/live/thing.py"}
    page = "# Troubleshooting\n\n### `ThingError`: a thing failed\n\n> \"the thing failed\"\n"
    problems = missing_entries(classes, page)
    assert len(problems) == 2
    assert "WorseThing" in problems[1] and "add a heading '### `WorseThing`" in problems[1]
    assert stale_entries({}, page) and not stale_entries(classes, page)
    assert unquoted_messages(page, ["the thing failed: try again"]) == []
    assert "the thing failed" in unquoted_messages(page, ["another message"])[0]
