"""creditops: get the full value of what an organisation bought from Salesforce beyond licences."""

from creditops.adapters.processor import numpy_without_avx512_on_zen4

# Before anything loads NumPy: on AMD Zen 4 its AVX-512 sort is several times slower than its
# AVX2 one (see ``adapters.processor``).
numpy_without_avx512_on_zen4()

__version__ = "0.1.0"
