"""grafanalib code for sansang's Grafana dashboards, and their provisioning files.

``python -m dashboards.generate`` writes ``dashboards/json/*.json`` (checked in, one per
dashboard, fixed uids) and ``dashboards/provisioning/``; ``--check`` fails when they are stale.
"""
