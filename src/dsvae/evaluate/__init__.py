"""Evaluation: the judge (a classifier of the labelled factors), the scores, and the protocol."""
