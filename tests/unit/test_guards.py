"""helpers.live.guards: each guard rejects what it should, passes ordinary replies, and is counted."""
import pandas as pd
import pytest

from helpers.live import guards

PARENT = "Drinking a full glass of water as soon as I wake up."


@pytest.mark.parametrize("reply, guard", [
    ("", "empty"),
    ("   \n ", "empty"),
    ("that is great [SEP] and more", "markers"),
    ("sure thing <|endoftext|>", "markers"),
    ("sure thing endoftext|> more", "markers"),
    ("and then [SEP to it", "markers"),
    ("read this https://example.org/page first", "url"),
    ("see www.example.com for more", "url"),
    ("go to example.com today", "url"),
    ("[a link](http://x.y) here", "url"),
    ("you are an idiot for thinking that", "blocklist"),
    ("please UPVOTE this", "blocklist"),
    ("no no no no no", "repetition"),
    ("i think so i think so i think so", "repetition"),
    ("the the cat the the cat the the cat", "repetition"),
    ("drinking a full glass of water as soon as I wake up!", "near_copy"),
    ("Drinking a full  glass of water as soon as i wake up.", "near_copy"),
])
def test_each_guard_rejects(reply, guard):
    assert guard in guards.check(reply, PARENT)


@pytest.mark.parametrize("reply", [
    "Same here, it really helps me feel awake.",
    "I tried that for a month and it did nothing for me, honestly.",
    "Water first, coffee second. That is the rule in my house.",
    "Skimming is different from skipping; idiomatic is fine; no-no is a word.",
])
def test_ordinary_replies_pass(reply):
    assert guards.check(reply, PARENT) == []


def test_near_copy_threshold():
    assert guards.similarity(PARENT, PARENT) == 1.0
    almost = PARENT.replace("full", "big")
    assert 0.9 < guards.similarity(almost, PARENT) < 0.95
    assert "near_copy" not in guards.check(almost, PARENT)


def test_blocklist_is_a_parameter_and_matches_whole_words():
    assert guards.check("what a lovely teapot", PARENT, blocklist=["teapot"]) == ["blocklist"]
    assert guards.check("what a lovely teapots", PARENT, blocklist=["teapot"]) == []
    assert guards.check("skills", PARENT) == []  # "kys" is not inside other words


def test_apply_guards_counts_each_guard():
    df = pd.DataFrame({
        "comment": [PARENT] * 6,
        "candidate": ["fine reply here", "", "visit https://a.b", "no no no no", PARENT, "idiot https://x.io"],
    })
    out, counts = guards.apply_guards(df)
    assert list(out["guards"]) == ["", "empty", "url", "repetition", "near_copy", "url;blocklist"]
    assert counts == {"empty": 1, "markers": 0, "url": 2, "blocklist": 1, "repetition": 1, "near_copy": 1}
    assert list(counts) == list(guards.GUARDS)


# ----- the text as Reddit renders it (issue 19, item 4) -----
@pytest.mark.parametrize("reply", ["\u200b", "&#x200B;", "&amp;#x200B;", "&#8203;", " \u200b\u200d\ufeff\u2060 ",
                                   "&nbsp;", "\u00a0\u200b\n\t", "\u2800", "\u3164"])
def test_invisible_text_is_empty(reply):
    assert guards.check(reply, PARENT) == ["empty"]


@pytest.mark.parametrize("reply, guard", [
    ("k\u200bys", "blocklist"),  # a zero-width space inside a blocked word
    ("shut \u00a0  up", "blocklist"),
    ("sure &lt;|endoftext|&gt;", "markers"),
    ("see https&#58;//spam.example", "url"),
    ("Drinking a full glass of water as soon as I wake\u200b up.", "near_copy"),
])
def test_guards_judge_the_text_as_reddit_renders_it(reply, guard):
    assert guard in guards.check(reply, PARENT)


def test_rendered_text():
    assert guards.rendered("a &amp; b\u200b \u00a0 c\n\nd") == "a & b c d"
    assert guards.rendered("&amp;#x200B;x") == "x"
    assert guards.rendered(None) == ""
