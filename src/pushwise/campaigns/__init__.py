"""Campaigns at work: the leader's runner for scheduled, recurring and journey campaigns."""
