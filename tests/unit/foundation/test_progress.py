import io

import pytest

from mlopsctl.progress import NullStatus, PlainStatus, RichStatus, make_status, wants_spinner


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_status_marks_start_and_success():
    stream = io.StringIO()
    status = PlainStatus(stream)
    with status.step("create cluster"):
        status.note("3 nodes")
    assert stream.getvalue() == " • create cluster ...\n   3 nodes\n ✓ create cluster\n"


def test_plain_status_marks_failure_and_reraises():
    stream = io.StringIO()
    with pytest.raises(ValueError), PlainStatus(stream).step("load image"):
        raise ValueError("no")
    assert stream.getvalue().endswith(" ✗ load image\n")


def test_quiet_shows_nothing():
    assert isinstance(make_status(quiet=True, color=True, env={}), NullStatus)


def test_pipe_gets_plain_lines():
    assert isinstance(make_status(quiet=False, color=True, env={}, stream=io.StringIO()), PlainStatus)


def test_tty_gets_a_spinner_unless_no_color_or_dumb():
    assert isinstance(make_status(quiet=False, color=True, env={}, stream=FakeTty()), RichStatus)
    assert not wants_spinner(True, {"NO_COLOR": "1"}, True)
    assert not wants_spinner(True, {"TERM": "dumb"}, True)
    assert not wants_spinner(True, {}, False)
    assert not wants_spinner(False, {}, True)
