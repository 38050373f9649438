"""Talking to Reddit: fresh comments to answer (06), the guards, the review a person does, the
ledger and lease that keep a reply from being posted twice, posting (07), and how posted replies
did (08)."""
