"""Side-by-side CPU benchmarks of layerwise against PyTorch and scikit-learn.

Run from the repository root::

    python -m benchmarks                      # every workload, results into benchmarks/RESULTS.md
    python -m benchmarks -w w2 w3 -r 3        # chosen workloads, 3 timed repeats, nothing written
    python -m benchmarks --help

Every workload trains (or runs) the same network on the same data, with the
same batch size, optimizer (Adam) and thread count, in each framework, in the
same process, after a warm-up, interleaving the frameworks repeat by repeat;
the figures are medians of the repeats. See ``benchmarks/README.md`` for the
method and ``benchmarks/RESULTS.md`` for the numbers of the last full run.
"""
