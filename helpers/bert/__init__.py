"""BERT: the realism and upvote classifiers fine-tuned from a TF Hub encoder with tf-keras
(notebooks 04 and 05), and scoring candidate replies with both (notebook 07)."""
