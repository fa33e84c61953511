"""Evaluation: the questionnaire after an event, its responses and their results."""
