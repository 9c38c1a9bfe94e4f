import io

from mnaas_missing_files.core.model import GroupResult
from mnaas_missing_files.run.progress import ProgressPrinter


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    p = ProgressPrinter(out)
    p(1, 3, GroupResult("a", ok=True))
    p(2, 3, GroupResult.failed("b", "boom"))
    p(3, 3, GroupResult("c", ok=True))
    assert out.getvalue() == ("groups done 1/3\ngroups done 2/3, 1 failed\ngroups done 3/3, 1 failed\n")


def test_a_bar_rewritten_in_place_on_a_terminal():
    out = Tty()
    p = ProgressPrinter(out, width=4)
    p(1, 2, GroupResult("a", ok=True))
    p(2, 2, GroupResult("b", ok=True))
    assert out.getvalue() == "\r[##--] 1/2 groups\r[####] 2/2 groups\n"
