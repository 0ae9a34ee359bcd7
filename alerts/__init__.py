"""Readiness criteria rendered as Prometheus rules; the Alertmanager configuration and templates.

``python -m alerts.generate`` writes ``alerts/rules/sansang-alerts.yml`` and
``alerts/alertmanager.yml`` from ``inventory.criteria`` and the shipped inventory.
"""
