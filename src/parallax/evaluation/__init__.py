"""Evaluations against labelled data; each module is one ``parallax eval`` subcommand."""
