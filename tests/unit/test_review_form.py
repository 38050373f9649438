"""The review form (helpers.live.review.review_widget) as a person uses it in Colab, on whatever
ipywidgets the runtime has: Colab ships 7.x, the dev env has 8.x. Needs only pandas and
ipywidgets, so it also runs in a throwaway venv with ipywidgets 7 (see README, Review)."""
import ipywidgets
import pandas as pd
import pytest

from helpers.live import review
from helpers.core.paths import Paths

DATE = "2026-11-25"


def proposed(n=2):
    return pd.DataFrame([{"subreddit": "pics", "submission_id": f"p{i}", "title": f"post <{i}>", "comment_id": f"c{i}",
                          "comment": f"comment {i} & more", "reply": f"reply {i}", "prob_real": 0.9 + i / 100,
                          "expected_rating_bin": 1.5, "p0": 0.25, "p1": 0.25, "p2": 0.25, "p3": 0.25}
                         for i in range(1, n + 1)])


@pytest.fixture
def paths(tmp_path):
    p = Paths(tmp_path)
    review.write_review(p, DATE, review.proposals(proposed(), reply_col="reply", realism_model="r@1"))
    return p


def test_form_approves_and_edits_what_the_file_holds(paths):
    form = review.review_widget(paths, DATE)
    assert len(form.checkboxes) == 2 and not any(b.value for b in form.checkboxes)
    form.checkboxes[1].value = True
    form.texts[1].value = "edited in the form"
    form.save_button.click()
    saved = review.read_review(paths, DATE)
    assert list(saved["approved"]) == ["no", "yes"]
    assert review.approved(saved).loc[0, "reply"] == "edited in the form"
    assert saved.loc[0, "p0"] == "0.25" and saved.loc[0, "realism_model"] == "r@1"  # predictions carried through
    assert "1 of 2 approved" in form.status.value, ipywidgets.__version__


def test_form_saves_by_comment_id_when_the_file_changed_meanwhile(paths):
    form = review.review_widget(paths, DATE)
    # 07 reran meanwhile and a new proposal came first in a hand-sorted file
    current = review.read_review(paths, DATE)
    newer = review.proposals(proposed(3).iloc[[2]], reply_col="reply").assign(approved="no")
    pd.concat([newer, current], ignore_index=True).to_csv(paths.file("review", date=DATE), index=False)
    form.checkboxes[0].value = True
    form.save_button.click()
    saved = review.read_review(paths, DATE).set_index("comment_id")["approved"]
    assert saved.to_dict() == {"c3": "no", "c1": "yes", "c2": "no"}


def test_form_says_what_is_wrong_instead_of_failing_silently(paths):
    form = review.review_widget(paths, DATE)
    form.checkboxes[0].value = True
    form.texts[0].value = "   "
    form.save_button.click()
    assert "empty reply" in form.status.value and "c1" in form.status.value
    path = paths.file("review", date=DATE)
    path.write_text(path.read_text().replace("comment_id", "id"))  # broken in a spreadsheet meanwhile
    form.save_button.click()
    assert "not saved" in form.status.value and "comment_id" in form.status.value


def test_model_ids_name_the_exports_and_the_gpt2_run(tmp_path):
    import json

    p = Paths(tmp_path)
    assert review.model_ids(p) == {"realism_model": "", "upvotes_model": "", "gpt2_run": ""}  # nothing trained yet
    for key in ("bert_realism", "bert_upvotes"):
        p.file(key).mkdir(parents=True)
        (p.file(key) / "saved_model.pb").write_bytes(b"x")
    p.file("gpt2_run", run="run7").mkdir(parents=True)
    (p.file("gpt2_run", run="run7") / "checkpoint").write_text("x")
    summary = p.file("summary", notebook="06_generate_candidates")
    summary.parent.mkdir(parents=True)
    summary.write_text(json.dumps({"gpt2_run": "run7"}))
    ids = review.model_ids(p)
    assert ids["realism_model"].startswith("bert_realism@20") and ids["upvotes_model"].startswith("bert_upvotes@20")
    assert ids["gpt2_run"].startswith("run7@20")
