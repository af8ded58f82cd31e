"""The load benchmark (issue 16): bench.py plays it; workload, processes and stores are its parts."""
