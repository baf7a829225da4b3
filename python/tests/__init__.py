"""Tests of the Python rule runtime; run from python/ with
`python3 -m unittest discover -s tests -t .`."""
