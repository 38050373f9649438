"""Write the bundled sample data: synthetic reddit-like submissions and comments (written for this project).

    python scripts/make_sample_data.py            # writes helpers/data/sample/{submissions,comments}.jsonl

Deterministic (one seed). The rows use the raw schema the real sources give (pairs.SUBMISSION_COLUMNS,
pairs.COMMENT_COLUMNS: base36 ids, `t3_`/`t1_` parent ids, epoch `created_utc`, HTML-escaped bodies)
and the quirks real data has, so notebook 01's cleaning has something to do: `[deleted]`/`[removed]`,
AutoModerator and other bots, markdown, `&amp;#x200B;`, emoji, very long bodies, exact duplicate
lines, replies by the comment's own author and by the post's author, link posts, null scores,
string timestamps, a stray `[SEP]`, replies that fall into the next month, another subreddit.

Reply scores follow the reply's kind: specific, helpful replies tend to score high, generic ones
in the middle, one-line jokes low, so an upvote model has a signal to learn.
"""
from __future__ import annotations

import argparse
import calendar
import html
import json
import random
from pathlib import Path

SEED = 2019
MONTHS = ((2019, 1), (2019, 2), (2019, 3))
POSTS_PER_SUB_MONTH = 18
OUT = Path(__file__).resolve().parent.parent / "helpers" / "data" / "sample"

# --- text material, per subreddit -----------------------------------------------------------------
# Templates are filled from the slot lists with str.format; {t} is the thread's topic.

SUBS = {
    "cooking": dict(
        topics=["sourdough bread", "cast iron skillet", "mushroom risotto", "chicken thighs", "homemade pasta",
                "pizza dough", "beef stew", "fried rice", "chocolate chip cookies", "pan sauce", "red curry",
                "roast potatoes", "salmon fillets", "french omelette", "banana bread", "ramen broth"],
        titles=["How do I keep my {t} from turning out {bad}?", "First time making {t}, any tips?",
                "My {t} was {bad} again. What am I doing wrong?", "What is your go-to trick for {t}?",
                "Finally nailed {t} after five tries!", "Is it worth buying a {gear} for {t}?",
                "Help: {t} for 8 people this weekend", "Why does every recipe for {t} say something different?"],
        selftexts=["I followed a popular recipe to the letter and it still came out {bad}. I used {ingredient} and "
                   "cooked it for about {mins} minutes. Any idea where it went wrong?",
                   "Cooking for my partner's family on Sunday and I want the {t} to be perfect. I have a basic "
                   "oven, a {gear} and a lot of nerves.",
                   "Long time lurker. I have been practising {t} every weekend and I think I finally get it. "
                   "The trick for me was {trick}.",
                   "Every time I try {t} the result is {bad}. I am starting to think my stove runs hot.",
                   "Budget question: I cook for one and {t} is my comfort food. How do you scale it down?"],
        comments=["What temperature are you cooking the {t} at?", "How long did you let it rest before serving?",
                  "Did you salt it early or right before cooking?", "Are you using {ingredient} or something else?",
                  "I had exactly the same problem with {t} last month.", "Honestly {t} is one of the hardest things to get right at home.",
                  "What kind of pan are you using?", "That looks amazing, what was the recipe?",
                  "Did you preheat the pan long enough?", "Could it be your oven? Mine runs about 20 degrees hot.",
                  "Is it {bad} on the inside or just on the outside?", "I always mess up {t} too, following this thread.",
                  "Which flour did you use?", "Do you have a thermometer? That changed everything for me."],
        helpful=["Get an oven thermometer first, most home ovens are off by {deg} degrees.",
                 "Pull it at {temp}F internal and let it rest {mins} minutes, carryover does the rest.",
                 "Salt it at least {hours} hours ahead, it seasons all the way through and browns better.",
                 "Pat it completely dry, then into a ripping hot pan with a thin layer of oil.",
                 "Use about {pct}% hydration for the dough and give it a cold proof overnight in the fridge.",
                 "Deglaze with a splash of {liquid} and scrape up the fond, then finish with cold butter off the heat.",
                 "Toast the rice or spices in the fat for a minute or two before adding liquid.",
                 "Do not crowd the pan, cook in two batches or it steams instead of browning.",
                 "Weigh your flour instead of using cups, {grams}g is far more repeatable.",
                 "Add the {ingredient} in the last {mins} minutes so it keeps its texture.",
                 "A {gear} holds heat much better, preheat it for a full {mins} minutes on medium.",
                 "Taste and adjust at the end: a pinch of salt and a squeeze of lemon fix most flat dishes."],
        ok=["Same thing happens to me, I just add more butter.", "Resting it longer helped me a bit.",
            "I think it is mostly practice, it gets easier.", "Try a different recipe, some are just bad.",
            "Lower heat and more patience, that is all I do.", "Following, I want to know this too.",
            "Mine improved once I got a better pan."],
        jokes=["Just order pizza 🍕", "Have you tried turning the oven off and on again?", "Skill issue 😂",
               "Step one: buy a restaurant.", "It's not burnt, it's caramelised.", "Gordon would be furious lol",
               "more garlic. always more garlic 🧄", "My smoke alarm is my timer."],
        slots=dict(bad=["dry", "soggy", "gummy", "burnt on the outside", "bland", "dense", "rubbery", "flat"],
                   gear=["cast iron pan", "dutch oven", "stand mixer", "carbon steel wok", "pizza stone", "sous vide"],
                   ingredient=["bread flour", "arborio rice", "chicken stock", "fresh garlic", "San Marzano tomatoes",
                               "brown butter", "fish sauce", "parmesan"],
                   trick=["a much hotter pan", "weighing everything", "resting it overnight", "more salt than I dared",
                          "a thermometer"],
                   liquid=["white wine", "stock", "vermouth", "water"],
                   deg=["15", "20", "25", "30"], temp=["135", "140", "155", "160", "165", "200"],
                   mins=["5", "8", "10", "15", "20", "30"], hours=["2", "4", "12", "24"], pct=["65", "70", "75", "78"],
                   grams=["500", "450", "250", "300"]),
    ),
    "buildapc": dict(
        topics=["first gaming build", "1440p build", "budget office PC", "streaming rig", "small form factor build",
                "GPU upgrade", "CPU cooler", "RAM upgrade", "NVMe drive", "power supply", "case airflow",
                "video editing workstation"],
        titles=["[Build Help] {t} for about ${budget}", "Is this {t} balanced?", "PC won't POST after {t}",
                "Weird {symptom} on my new {t}", "Upgrade path for my {t}?", "Finished my {t}, how did I do?",
                "{t}: {part} or wait for next gen?", "Black screen after installing new {part}"],
        selftexts=["Budget is about ${budget}. Mostly gaming at 1440p, some streaming. Current list: {part}, 16GB "
                   "RAM, a 650W PSU. Anything I should swap?",
                   "Just finished the {t}. Fans spin, lights on, but no display and the {led} LED on the board is lit.",
                   "Getting {symptom} under load. Temps look fine in HWMonitor. Drivers are up to date.",
                   "Thinking of upgrading my {part}. The rest is a 4 year old system with a B450 board.",
                   "First time builder here, everything arrived today. Any last advice before I start?"],
        comments=["Did you plug the monitor into the GPU instead of the motherboard?", "What PSU is it exactly?",
                  "Is the RAM in the right slots? Usually A2 and B2.", "Have you updated the BIOS?",
                  "What are your temps under load?", "Post the full part list, hard to say otherwise.",
                  "That {part} is overkill for 1080p.", "Did you enable XMP/EXPO?",
                  "Which {led} LED is on exactly?", "Same {symptom} here after my upgrade, never figured it out.",
                  "Is the 8 pin CPU power cable plugged in at the top of the board?",
                  "Nice build! What case is that?", "Why that CPU and not the {part}?"],
        helpful=["Reseat the RAM in slots A2 and B2 and try one stick at a time, the {led} LED usually means memory training failed.",
                 "Update the BIOS with flashback before installing a newer CPU, older boards will not POST otherwise.",
                 "Plug the display cable into the graphics card, not the motherboard, it is the most common first-build mistake.",
                 "Enable XMP in the BIOS, otherwise that RAM runs at {mhz} MHz instead of its rated speed.",
                 "Check the 8 pin EPS cable at the top left of the board, it is easy to miss in a tight case.",
                 "For ${budget} I would drop the {part} and put the money into the GPU, that is where the frames come from.",
                 "Run DDU in safe mode, then install the latest driver clean; {symptom} is often a leftover driver.",
                 "Set a custom fan curve: front intake at {pct}% and rear exhaust slightly lower for positive pressure.",
                 "A quality {watts}W unit is plenty, do not cheap out on the PSU, it powers everything else.",
                 "Test with OCCT or memtest86 overnight before you blame the GPU.",
                 "Put the NVMe in the slot wired to the CPU, the chipset slot shares bandwidth.",
                 "Undervolt the GPU by {mv} mV, you lose almost no performance and it runs much cooler."],
        ok=["Looks fine to me honestly.", "I had the same issue, a BIOS update fixed it I think.",
            "Depends on what games you play.", "Probably the PSU, but hard to say.", "Decent list, maybe more RAM.",
            "Check your cables again.", "Wait for the sales, prices drop soon."],
        jokes=["Download more RAM 😎", "Did you remove the plastic from the cooler? 👀", "RGB adds 10 fps, everyone knows that.",
               "Have you tried plugging it in", "Just buy a console lol", "my wallet is crying for you 💸",
               "Needs more fans.", "It's always DNS."],
        slots=dict(budget=["800", "1000", "1200", "1500", "2000"], part=["RTX 4070", "RX 7800 XT", "Ryzen 5 7600",
                   "i5-13600K", "32GB DDR5", "2TB NVMe", "RTX 3060", "Ryzen 7 5800X3D"],
                   symptom=["coil whine", "stuttering", "random restarts", "black screens", "high idle temps",
                            "fan ramping"], led=["DRAM", "CPU", "VGA", "BOOT"], mhz=["2133", "4800", "2400"],
                   pct=["60", "70", "80"], watts=["650", "750", "850"], mv=["50", "75", "100"]),
    ),
    "CasualConversation": dict(
        topics=["learning to play guitar", "my first marathon", "a rainy Sunday", "my grandmother's recipes",
                "moving to a new city", "a book I could not put down", "my dog's birthday", "night shifts",
                "learning a new language", "gardening on a balcony", "a long train ride", "quitting social media"],
        titles=["Today I finally started {t}", "Anyone else into {t}?", "Small win: {t}",
                "What got you through {t}?", "I want to talk about {t}", "{t} made my week",
                "Does anyone else feel {feel} about {t}?", "Tell me about your {t}"],
        selftexts=["Nothing big, just wanted to share. I have been {feel} lately and {t} has been a nice change.",
                   "It has been a long week. What small thing made you smile today?",
                   "I never thought I would say this, but {t} turned out to be the best part of my month.",
                   "Feeling a bit {feel}. How do you all deal with {t}?",
                   "My friends are not into this so I am posting here. {t}! Anyone else?"],
        comments=["That's lovely, how did it go?", "I started {t} last year and never looked back.",
                  "What got you into it?", "Congrats, that is a big deal!", "I feel the same way about {t}.",
                  "Do you have any tips for a beginner?", "How long have you been doing it?",
                  "This made my day, thanks for sharing.", "Honestly same, {t} is underrated.",
                  "Where did you start?", "I tried once and gave up, maybe I should try again."],
        helpful=["What helped me most was doing it for {mins} minutes every day instead of long sessions on weekends.",
                 "Find a small group or a class nearby, having people expect you makes it so much easier to keep going.",
                 "Keep a little notebook of what you did each day; after a month you can see how far you came.",
                 "Start really small. I set the bar at {mins} minutes and usually ended up doing more.",
                 "Give yourself a few weeks before judging it, the first {weeks} weeks were the hardest for me.",
                 "There is a great free course online, and the library usually has beginner books too.",
                 "Celebrate the small wins, it sounds silly but it kept me motivated through the boring parts.",
                 "Try pairing it with something you already enjoy, like music or a walk, it sticks better.",
                 "Talk to someone who has done it for years, they will save you from most beginner mistakes."],
        ok=["That's really nice to hear.", "Same here honestly.", "Good for you!", "I should try that.",
            "Happy for you, keep going.", "That sounds fun.", "Love this."],
        jokes=["plot twist: the dog wrote this post 🐶", "me reading this instead of doing my chores",
               "Hello fellow human 👋", "This is the way.", "underrated comment section lol", "ok but where are the pics",
               "🙂", "Username checks out"],
        slots=dict(feel=["tired", "nostalgic", "hopeful", "restless", "grateful", "a bit lonely"],
                   mins=["10", "15", "20", "30"], weeks=["two", "three", "four", "six"]),
    ),
    "personalfinance": dict(
        topics=["emergency fund", "Roth IRA", "401k match", "student loans", "credit card debt", "first budget",
                "car loan", "HSA", "index funds", "buying a first home", "credit score", "raise at work"],
        titles=["{age}, just opened my first {t}. What next?", "Should I pay off {t} or invest?",
                "Got a raise to ${salary}, how should I handle my {t}?", "Confused about my {t}",
                "Is my {t} plan reasonable?", "Parents say {t} is a scam, are they right?",
                "How big should my {t} be?", "Help me prioritise: {t} vs everything else"],
        selftexts=["I am {age}, making about ${salary} a year. I have ${amount} in savings and some {t} questions. "
                   "Rent is about a third of my take home pay.",
                   "My employer offers a {match}% match. I currently put in nothing because of {t}. Is that a mistake?",
                   "Trying to make a first real budget. Income ${salary}, {t} at {apr}% APR. Where do I even start?",
                   "Just got a windfall of ${amount}. Thinking about {t} but I do not want to do anything stupid.",
                   "I read the wiki but I am still unsure about {t}. Any advice appreciated."],
        comments=["What is the interest rate on the debt?", "Does your employer match anything?",
                  "Have you read the prime directive in the wiki?", "How many months of expenses do you have saved?",
                  "Is that before or after tax?", "What are the fees on that fund?",
                  "I was in the same spot at {age}.", "Do you have any high interest debt?",
                  "Why do you want to pay it off so fast?", "Is the {t} through your employer?",
                  "Congrats on starting early!", "What is your timeline for buying a house?"],
        helpful=["Always take the full {match}% match first, it is an instant 100% return on that money.",
                 "Anything above about {apr}% APR should be paid off before investing beyond the match.",
                 "Build an emergency fund of 3 to 6 months of expenses in a high yield savings account first.",
                 "A broad index fund with an expense ratio under 0.1% is hard to beat for most people.",
                 "Use the avalanche method: minimums on everything, then every extra dollar to the highest rate.",
                 "Your credit score mostly recovers from a hard inquiry within {months} months, do not worry about it.",
                 "An HSA is triple tax advantaged if you can afford to not spend it, invest it like a retirement account.",
                 "Write down every expense for {months} months before making a budget, you cannot fix what you do not see.",
                 "Keep the car loan under {months}0 months and the payment under about 10% of take home pay.",
                 "Roth makes sense at ${salary} income since you are probably in a lower bracket now than later."],
        ok=["Read the wiki, it answers most of this.", "Pay off the debt first, I think.", "Depends on your goals really.",
            "Sounds like you are on the right track.", "I would keep more cash just in case.",
            "Talk to a fee only advisor maybe.", "Congrats, good start."],
        jokes=["Step 1: don't buy the boat ⛵", "just buy lottery tickets, guaranteed returns 🎰", "stonks 📈",
               "my budget is vibes", "Have you considered being born rich?", "Sir this is a Wendy's",
               "avocado toast strikes again 🥑", "Put it all on red."],
        slots=dict(age=["22", "24", "26", "29", "31", "35"], salary=["45,000", "58,000", "72,000", "95,000"],
                   amount=["3,000", "8,500", "15,000", "40,000"], match=["3", "4", "5", "6"],
                   apr=["6", "7", "18", "24"], months=["3", "6", "12"]),
    ),
}
FOLLOW_UPS = ["This worked for me too.", "Can confirm.", "Source? I have read the opposite.", "Thanks, saving this.",
              "Came here to say this.", "Agreed, and also: {advice}", "Can confirm. {advice}",
              "To add to this: {advice}"]
OTHER_SUB = dict(name="AskReddit", titles=["What is a small thing that makes your day better?",
                                           "What hobby did you pick up this year?"],
                 comments=["Coffee with a friend.", "Long walks, honestly.", "Cooking something new."],
                 replies=["Same!", "This is a good one.", "Underrated answer."])

AUTOMOD_POST = ("Thank you for your submission to r/{sub}. Please remember to read the **rules** in the "
                "sidebar.\n\n*I am a bot, and this action was performed automatically. Please "
                "[contact the moderators of this subreddit](/message/compose/?to=/r/{sub}) if you have any "
                "questions or concerns.*")
AUTOMOD_REPLY = "Your comment was flagged for review by the moderators. *I am a bot.*"
OTHER_BOTS = {"RemindMeBot": "I will be messaging you in 3 days on 2019-02-10 to remind you of this link.",
              "WikiTextBot": "**Index fund**\n\nAn index fund is a mutual fund designed to follow certain rules."}

NAME_A = ["crispy", "quiet", "lazy", "happy", "salty", "tiny", "big", "sleepy", "spicy", "frugal", "rusty", "cosmic",
          "mellow", "brave", "curious", "silent", "golden", "wandering", "northern", "pixel"]
NAME_B = ["onion", "panda", "toaster", "walrus", "budget", "otter", "falcon", "noodle", "kernel", "badger", "cactus",
          "lemon", "gpu", "sparrow", "wizard", "goblin", "pancake", "turtle", "koala", "teapot"]


class Maker:
    """Builds the rows with one random generator, so the output is the same on every run."""

    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        self.next_sub = int("aff000", 36)
        self.next_com = int("ed10000", 36)
        self.users = sorted({self._name() for _ in range(420)})
        self.submissions: list[dict] = []
        self.comments: list[dict] = []

    # -- small pieces -------------------------------------------------------------------------------
    def _name(self) -> str:
        r = self.rng
        a, b = r.choice(NAME_A), r.choice(NAME_B)
        style = r.random()
        if style < 0.4:
            return f"{a}_{b}{r.randint(1, 99)}"
        if style < 0.7:
            return f"{a.capitalize()}{b.capitalize()}"
        return f"{b}{a}{r.randint(100, 9999)}"

    def _id(self, kind: str) -> str:
        if kind == "sub":
            self.next_sub += self.rng.randint(1, 40)
            return _base36(self.next_sub)
        self.next_com += self.rng.randint(1, 400)
        return _base36(self.next_com)

    def fill(self, template: str, sub: dict, topic: str) -> str:
        values = {k: self.rng.choice(v) for k, v in sub["slots"].items()}
        return template.format(t=topic, **values)

    def user(self, *avoid: str) -> str:
        while True:
            name = self.rng.choice(self.users)
            if name not in avoid:
                return name

    # -- replies and their scores -------------------------------------------------------------------
    def reply_text(self, sub: dict, topic: str) -> tuple[str, str]:
        """(kind, text): helpful replies are specific and longer, jokes short."""
        r = self.rng
        kind = r.choices(["helpful", "ok", "joke"], weights=[36, 34, 30])[0]
        if kind == "helpful":
            n = r.choice([1, 2, 2, 3])
            sentences = [self.fill(s, sub, topic) for s in r.sample(sub["helpful"], n)]
            if n == 3 and r.random() < 0.3:  # markdown list
                text = "A few things that helped me:\n\n" + "\n".join(f"* {s}" for s in sentences)
            elif r.random() < 0.2:
                text = f"**{sentences[0]}** " + " ".join(sentences[1:])
            else:
                text = " ".join(sentences)
            if r.random() < 0.15:
                text += "\n\nEdit: typo."
        elif kind == "ok":
            first, second = r.sample(sub["ok"], 2)
            text = self.fill(first, sub, topic) + (" " + self.fill(second, sub, topic) if r.random() < 0.3 else "")
        else:
            text = r.choice(sub["jokes"])
        return kind, text

    def score(self, kind: str) -> int:
        """Reply score drawn by kind; bins <1, 1, 2-4, >=5 are all well populated."""
        r = self.rng
        weights = {"helpful": [5, 10, 30, 55], "ok": [15, 30, 40, 15], "joke": [40, 38, 15, 7]}[kind]
        b = r.choices(range(4), weights=weights)[0]
        if b == 0:
            return r.randint(-8, 0)
        if b == 1:
            return 1
        if b == 2:
            return r.randint(2, 4)
        return int(5 + r.expovariate(1 / (25 if kind == "helpful" else 8)))

    # -- rows -----------------------------------------------------------------------------------------
    def add_submission(self, sub_name: str, sub: dict, created: int) -> dict:
        r = self.rng
        topic = r.choice(sub["topics"])
        is_self = r.random() > 0.08
        title = self.fill(r.choice(sub["titles"]), sub, topic)
        title = title[0].upper() + title[1:]
        text = self.fill(r.choice(sub["selftexts"]), sub, topic) if is_self else ""
        if is_self and r.random() < 0.1:
            text += "\n\n&#x200B;\n\nEDIT: thanks everyone for the replies!"
        row = dict(id=self._id("sub"), title=title, selftext=text, author=self.user(), subreddit=sub_name,
                   created_utc=created, score=r.choice([0, 1, 1, 2, 3, 5, 8, 13, 40, 120]), is_self=is_self,
                   _topic=topic)
        self.submissions.append(row)
        return row

    def add_comment(self, post: dict, parent: dict | None, author: str, body: str, score, created: int) -> dict:
        row = dict(id=self._id("com"), link_id=f"t3_{post['id']}",
                   parent_id=f"t1_{parent['id']}" if parent else f"t3_{post['id']}",
                   author=author, body=body, score=score, created_utc=created, subreddit=post["subreddit"])
        self.comments.append(row)
        return row

    def thread(self, post: dict, sub: dict):
        """Top-level comments on a post, their direct replies, and some replies to replies."""
        r = self.rng
        topic, t0 = post["_topic"], post["created_utc"]
        if post["subreddit"] in ("personalfinance", "buildapc") and r.random() < 0.25:
            automod = self.add_comment(post, None, "AutoModerator", AUTOMOD_POST.format(sub=post["subreddit"]), 1, t0 + 5)
            if r.random() < 0.5:  # people answer AutoModerator too: a pair the bot filter drops
                self.add_comment(post, automod, self.user(post["author"]), "Good bot", r.randint(1, 6), t0 + 900)
        for _ in range(r.choice([2, 3, 3, 4, 4, 5])):
            t1 = t0 + int(r.expovariate(1 / 7200)) + 60
            c_author = self.user(post["author"])
            comment = self.add_comment(post, None, c_author, self.fill(r.choice(sub["comments"]), sub, topic),
                                       r.randint(-2, 40), t1)
            for _ in range(r.choice([0, 1, 1, 1, 2, 2, 3])):
                t2 = t1 + int(r.expovariate(1 / 5400)) + 30
                roll = r.random()
                if roll < 0.10:  # the post's author answers: not a pair in the original query
                    text = r.choice(["Thanks, that worked!", "Good question, I will check tonight.",
                                     "Yes, exactly that.", "No, I did not. Will try!"])
                    self.add_comment(post, comment, post["author"], text, r.randint(1, 5), t2)
                    continue
                if roll < 0.16:  # the comment's author adds to their own comment
                    self.add_comment(post, comment, c_author, r.choice(["Edit: forgot to say, I use the same recipe.",
                                     "Also, good luck!", "Update: never mind, figured it out."]), 1, t2)
                    continue
                kind, text = self.reply_text(sub, topic)
                reply = self.add_comment(post, comment, self.user(c_author, post["author"]), text, self.score(kind), t2)
                if r.random() < 0.3:  # a follow-up under the reply: (reply, follow-up) is a pair too
                    if r.random() < 0.4:
                        kind2, text2 = "ok", r.choice(FOLLOW_UPS)
                        if "{advice}" in text2:
                            kind2, text2 = "helpful", text2.format(advice=self.fill(r.choice(sub["helpful"]), sub, topic))
                    else:
                        kind2, text2 = self.reply_text(sub, topic)
                    author = self.user(reply["author"], post["author"])
                    self.add_comment(post, reply, author, text2, self.score(kind2), t2 + int(r.expovariate(1 / 3600)) + 30)

    def other_subreddit(self, start: int, end: int):
        """A few rows from a subreddit notebook 01 does not ask for (the filter drops them)."""
        r = self.rng
        for title in OTHER_SUB["titles"]:
            post = dict(id=self._id("sub"), title=title, selftext="Curious what you all think.", author=self.user(),
                        subreddit=OTHER_SUB["name"], created_utc=r.randint(start, end), score=50, is_self=True, _topic="")
            self.submissions.append(post)
            for text in OTHER_SUB["comments"]:
                c = self.add_comment(post, None, self.user(), text, r.randint(1, 30), post["created_utc"] + 100)
                self.add_comment(post, c, self.user(c["author"]), r.choice(OTHER_SUB["replies"]), r.randint(0, 9),
                                 c["created_utc"] + 100)

    def quirks(self):
        """The oddities real dumps have, applied to a fixed share of rows."""
        r = self.rng
        ours = [c for c in self.comments if c["subreddit"] in SUBS and c["author"] != "AutoModerator"]
        replies = [c for c in ours if c["parent_id"].startswith("t1_")]
        tops = [c for c in ours if c["parent_id"].startswith("t3_")]
        for c in r.sample(replies, 25):  # deleted by the author
            c.update(author="[deleted]", body="[deleted]")
        for c in r.sample(tops, 10):  # removed by moderators
            c.update(author="[deleted]", body="[removed]")
        for c in r.sample(replies, 12):  # bots answering
            bot = r.choice(sorted(OTHER_BOTS))
            c.update(author=bot, body=OTHER_BOTS[bot])
        for c in r.sample(replies, 8):
            c.update(author="AutoModerator", body=AUTOMOD_REPLY)
        for c in r.sample(replies, 14):  # null scores (hidden scores in some dumps)
            c["score"] = None
        for c in r.sample(self.comments, 60) + r.sample(self.submissions, 15):  # string timestamps
            c["created_utc"] = str(c["created_utc"])
        for c in r.sample(replies, 6):  # empty after cleaning
            c["body"] = r.choice(["&#x200B;", "   ", "\u200b\n\n&#x200B;"])
        for c in r.sample(replies, 2):  # the separator the fine-tuning text uses
            c["body"] += " [SEP] lol"
        for c in r.sample(replies, 30):  # emoji and zero-width spaces
            c["body"] += r.choice([" 😂", " 👍", " 🙏", " ❤️", "\n\n&#x200B;", " 🔥🔥"])
        for c in r.sample(replies, 10):  # markdown quotes of the parent
            c["body"] = "> " + r.choice(["this", "Did you preheat?", "What is your budget?", "How did it go?"]) + "\n\n" + c["body"]
        self.long_bodies(r.sample(replies, 12))
        for c in r.sample(tops, 5):  # a link to somewhere
            c["body"] += " Here is the one I used: [link](https://example.com/guide?a=1&b=2)"
        # the same text posted twice in two threads, answered the same way (exact duplicate pairs)
        pairs = [(c, p) for c in replies for p in tops if c["parent_id"] == f"t1_{p['id']}"]
        for reply, parent in r.sample(pairs, 12)[::2]:
            other = r.choice([p for p in tops if p["subreddit"] == parent["subreddit"] and p is not parent])
            copy = dict(reply, id=self._id("com"), parent_id=f"t1_{other['id']}", link_id=other["link_id"],
                        created_utc=int(other["created_utc"]) + 60)
            other["body"] = parent["body"]
            self.comments.append(copy)
        # exact duplicate lines, as dumps sometimes repeat a record
        self.comments += [dict(c) for c in r.sample(self.comments, 12)]

    def long_bodies(self, rows):
        r = self.rng
        for i, c in enumerate(rows):
            sub = SUBS[c["subreddit"]]
            n = 30 if i % 2 == 0 else 11  # half over notebook 01's 2000-character limit, half under
            parts = [self.fill(s, sub, "it") for s in r.choices(sub["helpful"], k=n)]
            c["body"] = "Long answer, sorry in advance.\n\n" + "\n\n".join(
                " ".join(parts[j:j + 3]) for j in range(0, len(parts), 3)) + "\n\n**TL;DR** practice and patience."


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, d = divmod(n, 36)
        out = digits[d] + out
    return out


def escape(text: str) -> str:
    """Escape as Reddit's exports do: `&`, `<`, `>` become entities (so `&#x200B;` reads `&amp;#x200B;`)."""
    return html.escape(text, quote=False)


def make(seed: int = SEED) -> tuple[list[dict], list[dict]]:
    m = Maker(seed)
    for year, month in MONTHS:
        start = calendar.timegm((year, month, 1, 0, 0, 0))
        end = calendar.timegm((year, month, calendar.monthrange(year, month)[1], 23, 59, 59))
        for name, sub in SUBS.items():
            for _ in range(POSTS_PER_SUB_MONTH):
                created = m.rng.randint(start, end - 3600)
                if m.rng.random() < 0.05:  # late in the month: some replies land in the next one
                    created = end - m.rng.randint(600, 3000)
                post = m.add_submission(name, sub, created)
                if post["is_self"] or m.rng.random() < 0.8:  # link posts get comments too
                    m.thread(post, sub)
        m.other_subreddit(start, end - 3600)
    m.quirks()
    for row in m.submissions:
        row.pop("_topic")
        row["selftext"], row["title"] = escape(row["selftext"]), escape(row["title"])
    for row in m.comments:
        row["body"] = escape(row["body"])
    key = lambda row: (int(row["created_utc"]), row["id"])
    return sorted(m.submissions, key=key), sorted(m.comments, key=key)


def write_jsonl(rows: list[dict], path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write into")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    submissions, comments = make(args.seed)
    write_jsonl(submissions, args.out / "submissions.jsonl")
    write_jsonl(comments, args.out / "comments.jsonl")
    print(f"wrote {len(submissions)} submissions and {len(comments)} comments to {args.out}")


if __name__ == "__main__":
    main()
