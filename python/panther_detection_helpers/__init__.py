"""iota's clean-room implementation of the `panther_detection_helpers` package rules import;
see `caching`.
"""
