"""The house rules that stay true as the code changes (issue 17): no function of helpers/ takes more
than 7 parameters (self and cls not counted), and none hides what it accepts behind `**options`."""
from __future__ import annotations

import ast
from pathlib import Path

HELPERS = Path(__file__).resolve().parents[2] / "helpers"
MOST = 7
# Being cut below the limit on other branches at the time of writing; the lead removes each entry
# once that branch is merged. Nothing else may be listed here.
IN_PROGRESS: set[str] = set()  # functions known to be over the limit while someone splits them (none now)
# Every `**name` parameter of helpers/, and why it is not `**options` hiding what the function accepts:
# each carries data or names checked against a declared list (an unknown name raises, naming the allowed ones).
DOUBLE_STAR = {
    "helpers/core/config.py:setting": "values per profile, checked against config.PROFILE_NAMES",
    "helpers/core/config.py:for_profile": "overrides by field name, checked against the config's fields",
    "helpers/core/config.py:from_notebook": "overrides by field name, checked as for_profile",
    "helpers/core/settings.py:for_profile": "Settings' fields, checked (StageConfig.for_profile)",
    "helpers/core/settings.py:make_settings": "Settings' fields, checked (StageConfig.for_profile)",
    "helpers/core/context.py:configure": "Settings' fields, checked (make_settings)",
    "helpers/core/context.py:write_summary": "the notebook's summary values; context.RESERVED keys refused",
    "helpers/core/paths.py:file": "the entry's placeholders in LAYOUT, checked both ways",
    "helpers/core/exchange.py:write_table": "the entry's placeholders, checked by Paths.file",
    "helpers/core/exchange.py:read_table": "the entry's placeholders, checked by Paths.file",
    "helpers/sources/pull.py:for_profile": "PullConfig's fields, checked (StageConfig.for_profile)",
    "helpers/live/feedback/config.py:for_profile": "FeedbackConfig's fields, checked (StageConfig.for_profile)",
    "helpers/live/ledger.py:append": "the ledger entry's own values (data written into the line)",
    "helpers/live/posting.py:move": "the ledger entry's own values, passed to Ledger.append",
    "helpers/models/tiny_bert.py:__init__": "Keras Layer keyword arguments (name, dtype, ...)",
    "helpers/models/tiny_bert.py:PositionEmbedding": "a Keras layer factory: the layer's arguments",
    "helpers/models/tiny_bert.py:AttentionMask": "a Keras layer factory: the layer's arguments",
}


def parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The parameter names of `fn`, *args and **kwargs included, without a leading self or cls."""
    a = fn.args
    names = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    names += [p.arg for p in (a.vararg, a.kwarg) if p is not None]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return names


def functions():
    """(where, node) of every function and method under helpers/, nested ones too."""
    for path in sorted(HELPERS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{path.relative_to(HELPERS.parent).as_posix()}:{node.name}", node


def too_long(most: int = MOST) -> dict[str, int]:
    return {where: len(parameters(fn)) for where, fn in functions() if len(parameters(fn)) > most}


def test_the_walk_sees_helpers_functions_and_counts_parameters():
    found = dict(functions())
    assert len(found) > 200, "the walk found too few functions: is HELPERS right?"
    sample = ast.parse("def f(self, a, /, b, *c, d, **e): pass\ndef g(cls): pass").body
    assert parameters(sample[0]) == ["a", "b", "d", "c", "e"] and parameters(sample[1]) == []


def test_no_function_takes_more_than_seven_parameters():
    over = too_long()
    assert not set(over) - IN_PROGRESS, (
        f"functions with more than {MOST} parameters (self/cls not counted): "
        + ", ".join(f"{w} ({n})" for w, n in sorted(over.items()) if w not in IN_PROGRESS)
        + ". Group related ones in a frozen dataclass (a stage config, a shape) instead.")
    stale = IN_PROGRESS - set(over)
    assert not stale, f"no longer over the limit, remove from IN_PROGRESS: {', '.join(sorted(stale))}"


def test_no_function_hides_its_options_behind_double_star():
    """No `**options`: a `**name` parameter is listed above with what it carries and how it is checked."""
    found = {where for where, fn in functions() if fn.args.kwarg is not None}
    assert not found - set(DOUBLE_STAR), (
        f"`**` parameters that may hide what a function accepts: {', '.join(sorted(found - set(DOUBLE_STAR)))}. "
        "Name the options (keyword-only parameters or a frozen dataclass), or, for data or names checked "
        "against a declared list, add the function to DOUBLE_STAR with why.")
    assert not set(DOUBLE_STAR) - found, f"no longer take `**`, remove: {', '.join(sorted(set(DOUBLE_STAR) - found))}"
