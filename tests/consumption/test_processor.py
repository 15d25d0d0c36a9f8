"""Which processors NumPy is asked to leave AVX-512 aside on (its AVX-512 sort is slow on Zen 4),
and that nothing is overridden."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from creditops.adapters.processor import is_zen4, numpy_without_avx512_on_zen4

FLAGS = "fpu vme sse sse2 avx avx2"


def listing(vendor: str, family: int, flags: str, processors: int = 2) -> str:
    block = (f"processor\t: {{n}}\nvendor_id\t: {vendor}\ncpu family\t: {family}\n"
             f"model\t\t: 17\nmodel name\t: a processor\nflags\t\t: {flags}\n\n")
    return "".join(block.format(n=n) for n in range(processors))


@pytest.mark.parametrize(("vendor", "family", "flags", "expected"), [
    ("AuthenticAMD", 25, FLAGS + " avx512f avx512bw", True),  # Zen 4 (Genoa, Raphael)
    ("AuthenticAMD", 25, FLAGS, False),  # Zen 3: the same family, no AVX-512
    ("AuthenticAMD", 26, FLAGS + " avx512f", False),  # Zen 5: reported not to be slow there
    ("GenuineIntel", 6, FLAGS + " avx512f", False),  # where NumPy's AVX-512 sort was tuned
    ("AuthenticAMD", 25, FLAGS + " avx512fx", False),  # a flag is a whole word
])
def test_zen4_is_amd_family_25_with_avx512(vendor, family, flags, expected) -> None:
    assert is_zen4(listing(vendor, family, flags).splitlines()) is expected


def test_only_the_first_processor_is_read() -> None:
    text = listing("GenuineIntel", 6, FLAGS, 1) + listing("AuthenticAMD", 25, "avx512f", 1)
    assert not is_zen4(text.splitlines())
    assert not is_zen4([])
    assert is_zen4(["", *listing("AuthenticAMD", 25, "avx512f").splitlines()])


def test_numpy_is_asked_only_on_zen4_before_it_loads_and_if_nobody_chose(tmp_path: Path
                                                                          ) -> None:
    zen4, zen3 = tmp_path / "zen4", tmp_path / "zen3"
    zen4.write_text(listing("AuthenticAMD", 25, FLAGS + " avx512f"), encoding="utf-8")
    zen3.write_text(listing("AuthenticAMD", 25, FLAGS), encoding="utf-8")
    variable = "NPY_DISABLE_CPU_FEATURES"

    environ: dict[str, str] = {}
    assert numpy_without_avx512_on_zen4(environ, {}, zen4)
    assert environ == {variable: "X86_V4"}

    environ = {}
    assert not numpy_without_avx512_on_zen4(environ, {}, zen3)
    assert not numpy_without_avx512_on_zen4(environ, {"numpy": object()}, zen4)
    assert not numpy_without_avx512_on_zen4(environ, {}, tmp_path / "no such listing")
    assert environ == {}

    chosen = {variable: "AVX512_SPR"}  # the user's choice stands
    assert not numpy_without_avx512_on_zen4(chosen, {}, zen4)
    assert chosen == {variable: "AVX512_SPR"}


def test_loading_creditops_first_settles_numpy_on_this_machine() -> None:
    """In a fresh process: the variable is set exactly when this machine is a Zen 4, NumPy
    loads without a warning about it, and a variable set beforehand is kept."""
    cpuinfo = Path("/proc/cpuinfo")
    expected = "X86_V4" if cpuinfo.exists() and is_zen4(
        cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines()) else None
    code = ("import os, creditops, numpy; print(os.environ.get('NPY_DISABLE_CPU_FEATURES'))")
    environ = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], env=environ,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == str(expected)
    kept = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                          text=True, check=True,
                          env={**environ, "NPY_DISABLE_CPU_FEATURES": ""})
    assert kept.stdout.strip() == ""
