"""Bytewax's module paths and names over Eddy (``pip install
./python/bytewax-compat`` after ``pip install ./python``): a Bytewax
0.19–0.21 flow runs unchanged. What differs from Bytewax is listed in
``python/bytewax-compat/README.md``."""
