"""The ward agent: scheduled probes, an on-disk spool, pushes to the collector."""
