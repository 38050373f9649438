"""One subreddit list and one top-level rule shared by 01 (what the models learn) and 06 (what they answer)."""
from helpers.core import reddit_terms
from helpers.live import candidates
from helpers.sources.pull import PullConfig
from helpers.core import manifest
from helpers.sources import prepare
from helpers.core.paths import Paths
from test_pull_sample import pull_pairs
from helpers.core.settings import make_settings


def test_profiles_share_subreddits_and_take_top_level_comments_as_the_original():
    for profile in ("tiny", "colab"):
        s = make_settings(profile)
        assert reddit_terms.check_subreddits(s.subreddits) == ["cooking", "buildapc", "CasualConversation", "personalfinance"]
        assert s.top_level_only is True and PullConfig.for_profile(s.profile).max_items_per_month > 0
    assert PullConfig.for_profile("colab").source == "arctic_shift"  # works on Colab with no account and no download


def test_06_learns_which_subreddits_the_prepared_data_never_saw(tmp_path):
    assert manifest.untrained_subreddits(Paths(tmp_path), ["cooking"]) is None  # no prepared set yet: nothing to say
    pairs, _ = pull_pairs("sample", tmp_path, ["cooking", "buildapc"], ["2019-01"])
    prepare.write_prepared(prepare.prepared_tables(prepare.clean_pairs(pairs)[0]), Paths(tmp_path),
                           {"subreddits": ["cooking", "buildapc"]})
    assert manifest.untrained_subreddits(Paths(tmp_path), ["Cooking", "r/AskReddit", "buildapc"]) == ["AskReddit"]


def test_06_can_answer_only_top_level_comments():
    threads, _ = candidates.load_sample()
    all_depths, _ = candidates.select_comments(threads)
    top, skipped = candidates.select_comments(threads, top_level_only=True)
    parents = {c["comment_id"]: c["parent_id"] for c in threads.comments}
    assert len(top) < len(all_depths) and all(parents[i].startswith("t3_") for i in top["comment_id"])
    assert candidates.skip_counts(skipped)["not a top-level comment"] == len(all_depths) - len(top)


def test_06s_sample_keeps_the_chosen_subreddits_it_has():
    threads, note = candidates.load_sample(["r/gardening", "cooking"])
    assert {p["subreddit"] for p in threads.posts} == {"gardening"}
    assert {c["submission_id"] for c in threads.comments} <= {p["submission_id"] for p in threads.posts}
    assert "cooking" in note and "gardening" in note  # what it has, and what it lacks, said plainly


def test_06s_sample_says_plainly_when_it_has_none_of_the_subreddits():
    threads, note = candidates.load_sample(["cooking", "buildapc"])
    assert len(threads.posts) == 8  # the whole sample, so the demo has comments to answer
    assert "none of your SUBREDDITS" in note and "r/AskReddit" in note and "r/gardening" in note
