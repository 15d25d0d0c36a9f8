"""Runs the `creditops` command in-process, as a shell would, for the command-line tests."""

from __future__ import annotations

import sys

import pytest

from creditops.cli import main, output


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
        ) -> tuple[int, str, str]:
    """``creditops ARGS``: its exit code, standard output and standard error."""
    monkeypatch.setattr(sys, "argv", ["creditops", *args])
    monkeypatch.setattr(output.console, "width", 250)  # whatever terminal runs the tests
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
