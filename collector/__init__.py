"""The central collector: ingest API, store, readiness, /metrics, pages, speed tests."""
