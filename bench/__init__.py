"""sansang's benchmarks: every figure beside its peer's, measured in the same run.

``python -m bench`` runs them all and prints one table (``--quick`` for the
smoke version); ``python -m bench load`` is the national load test. Nothing
here talks to anything but loopback and the network namespaces it creates.
"""
