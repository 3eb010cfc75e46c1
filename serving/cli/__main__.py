"""``python -m serving.cli``: the ``credlink`` command without the installed script."""

from serving.cli import app

app(prog_name="credlink")
