"""Uplift: the math that needs no library (outcome windows, estimates with intervals,
policy values by inverse propensity, validation curves, the decision rule). The learner
itself sits in `pushwise.uplift`, behind a small fit/predict interface."""
