"""Textual stylesheets of the console (shipped in the wheel as ccconsole.styles)."""
