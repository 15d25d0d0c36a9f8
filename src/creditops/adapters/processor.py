"""What the processor this runs on asks of the numerical libraries, settled before they load.

NumPy sorts with AVX-512 where the processor has it. Its AVX-512 sort stores each partition
with the memory form of VPCOMPRESS, which AMD's Zen 4 runs in microcode (AMD's optimisation
guide for Zen 4 says to avoid it), so there it sorts several times slower than NumPy's own AVX2
code: 0.21 s against 0.03 s for five million 32-bit hashes, and an import of raw events sorts
ten million of them. Zen 4 is the AMD family 25 (19h) with AVX-512: Zen 3, of the same family,
has no AVX-512, and Zen 5 (family 26) is reported to run the memory form at full speed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path

NUMPY_FEATURES = "NPY_DISABLE_CPU_FEATURES"
AVX512_GROUP = "X86_V4"  # NumPy's name (2.4 and later) for its AVX-512 code paths


def is_zen4(cpuinfo: Iterable[str]) -> bool:
    """Whether the first processor of a ``/proc/cpuinfo`` listing is an AMD Zen 4."""
    fields: dict[str, str] = {}
    for line in cpuinfo:
        if not line.strip():
            if fields:
                break  # the first processor's block ends at the first blank line
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return (fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "25"
            and "avx512f" in fields.get("flags", "").split())


def numpy_without_avx512_on_zen4(environ: MutableMapping[str, str] = os.environ,
                                 modules: Mapping[str, object] = sys.modules,
                                 cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """On a Zen 4 processor, asks NumPy (through its environment variable, before it loads) to
    leave its AVX-512 code aside. Nothing changes when NumPy is loaded already, when the
    variable is set (the user's choice stands) or when the processor cannot be told.
    Returns whether it asked."""
    if "numpy" in modules or NUMPY_FEATURES in environ:
        return False
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as listing:
            zen4 = is_zen4(listing)
    except OSError:
        return False
    if zen4:
        environ[NUMPY_FEATURES] = AVX512_GROUP
    return zen4
