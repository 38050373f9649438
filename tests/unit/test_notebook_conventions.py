"""The notebook conventions of issue 21, checked as papermill and Colab read a parameters cell."""
import logging

from helpers.core import notebooks

GOOD = '''PROFILE = None  #@param ["None", "'tiny'", "'colab'"] {type:"raw"}
# None picks $BOT_PROFILE
RUN_NAME = "run1"  #@param {type:"string"}
TOP_K = None  #@param {type:"raw"}
SOURCE = None  #@param ["None", "'reddit'", "'sample'"] {type:"raw"}
'''


def test_a_cell_of_form_fields_passes_and_papermill_reads_every_parameter(caplog):
    from papermill.translators import PythonTranslator

    assert notebooks.parameter_problems(GOOD) == []
    with caplog.at_level(logging.WARNING):
        names = [p.name for p in PythonTranslator.inspect({"source": GOOD})]
    assert names == ["PROFILE", "RUN_NAME", "TOP_K", "SOURCE"] and "Unable to parse" not in caplog.text


def test_a_second_equals_sign_in_a_comment_is_caught_as_papermill_skips_the_parameter():
    """The 'Unable to parse line' of the demo: papermill drops the parameter and then warns
    'Passed unknown parameter' when it is given."""
    cell = GOOD + 'TOP_P = None  #@param {type:"raw"} (0 = off)\n'
    assert any("papermill's parser skips TOP_P" in p for p in notebooks.parameter_problems(cell))


def test_a_plain_assignment_and_a_typed_none_are_caught():
    problems = notebooks.parameter_problems(GOOD + "EPOCHS = 3  # passes\nSEED = None  #@param {type:\"integer\"}\n")
    assert any(p.startswith("EPOCHS is not a Colab form field") for p in problems)
    assert any(p.startswith("SEED = None (the profile's value) must be a raw field") for p in problems)


def test_use_the_profiles_value_is_none_in_every_field_not_an_empty_choice():
    """One convention (issue 21): a dropdown whose "use the default" choice is "" is caught; None in a
    raw dropdown is the one way, as for numbers."""
    old = 'SOURCE = ""  #@param ["", "sample", "arctic_shift"]\n'
    problems = notebooks.parameter_problems(old)
    assert any(p.startswith('SOURCE = "" (the default)') for p in problems), problems
    assert notebooks.parameter_problems('SOURCE = None  #@param ["None", "\'sample\'"] {type:"raw"}\n') == []


def test_every_notebook_follows_the_one_default_convention():
    from pathlib import Path
    for path in sorted(Path("notebooks").glob("*.ipynb")):
        problems = [p for p in notebooks.check(path) if '= ""' in p]
        assert problems == [], (path.name, problems)


def test_titles_follow_one_numbered_style():
    assert notebooks.title_problems("03_generate_fakes", "# 03 · Generate fake replies\n") == []
    assert notebooks.title_problems("03_generate_fakes", "# Generate fake replies\n")
    assert notebooks.title_problems("03_generate_fakes", "# 04 · Generate fake replies\n")
    assert notebooks.title_problems("template", "# Notebook template\n") == []  # not numbered


def test_notebooks_03_to_07_name_their_parameters_like_their_configs_fields():
    """Each field of the configs a notebook reads is one of its parameters, in capitals: nothing is
    set in a hand-made mapping, and no setting is missing from the form."""
    import ast

    import nbformat

    from helpers.bert.config import ScoringConfig, TrainingConfig
    from helpers.gpt2.sampling_config import SamplingConfig
    from helpers.live.comments_config import CommentsConfig

    uses = {"03_generate_fakes": [SamplingConfig], "04_bert_realism": [TrainingConfig],
            "05_bert_upvotes": [TrainingConfig], "06_generate_candidates": [SamplingConfig, CommentsConfig],
            "07_score_review_post": [ScoringConfig]}
    only_in = {"fake_comments": "03_generate_fakes", "threshold": "04_bert_realism"}
    internal = {"weight_decay", "balance_classes"}  # settings of the config with no form field
    for name, configs in uses.items():
        nb = nbformat.read(notebooks.NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
        source = nb.cells[3].source
        params = {t.id for stmt in ast.parse(source).body for t in stmt.targets}
        for config in configs:
            assert f"{config.__name__}.from_notebook(globals()" in nb.cells[4].source, (name, config)
            wanted = {f.upper() for f in config.docs() if f not in internal and only_in.get(f, name) == name}
            assert wanted <= params, (name, wanted - params)
