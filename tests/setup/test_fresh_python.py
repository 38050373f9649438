"""A fresh venv on Python 3.12 and 3.13, installed as `make setup` installs it, runs what notebooks
04 and 05 run to get their encoder: `import helpers`, the BERT module, tensorflow_hub loading an
encoder, the tokenizer and the classifier on one pair.

On 3.12+ a venv has no setuptools of its own, so pip brings the newest with TensorFlow, and
setuptools 81+ ships no `pkg_resources`, which tensorflow_hub 0.16.1 imports (issue 18). Each venv
is built once per Python and requirements-dev.txt (minutes) and reused after (seconds): see
`tests/setup/fresh_venv.py`.
"""
import os
import subprocess
import textwrap

import pytest

from fresh_venv import REPO, fresh_venv

# What 04's cells do up to training, on a tiny encoder built here (no download).
NOTEBOOK_04 = textwrap.dedent("""
    import sys
    import helpers
    import numpy as np, pandas as pd, matplotlib
    from helpers.bert import classifier as bc
    from helpers.models import tiny_bert
    texts = ["the cat sat on the mat", "a reply about the cat", "nothing to see here"] * 4
    handle = str(tiny_bert.build(sys.argv[1], texts, seed=0))
    encoder, vocab_file, do_lower_case = bc.load_encoder(handle)
    tokenizer = bc.PairTokenizer(vocab_file, do_lower_case, 16)
    x = tokenizer.encode(pd.Series(texts[:2]), pd.Series(texts[1:3]))
    model = bc.build_classifier(encoder, 2, dropout=0.1, seed=0)
    p = bc.predict_proba(model, x)
    assert p.shape == (2, 2) and np.allclose(p.sum(axis=1), 1, atol=1e-5), p
    print("notebook 04 imports: ok")
""")


@pytest.mark.parametrize("minor", ["3.12", "3.13"])
def test_a_fresh_venv_loads_the_bert_encoder(minor, tmp_path):
    python = fresh_venv(minor)
    has = subprocess.run([python, "-c", "import pkg_resources"], capture_output=True)
    assert has.returncode != 0, f"this {minor} venv has pkg_resources: it no longer shows the failure it guards"
    env = dict(os.environ, PYTHONPATH=str(REPO), BOT_DRIVE_ROOT=str(tmp_path / "drive"), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([python, "-c", NOTEBOOK_04, str(tmp_path / "encoder")], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "notebook 04 imports: ok" in done.stdout
