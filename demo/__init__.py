"""The demo: a collector on SQLite, a real agent on loopback, a simulated city fleet."""
