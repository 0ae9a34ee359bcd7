"""The network lab: hosts as network namespaces, real servers, injected faults.

Everything here sends traffic only to loopback or to addresses from
10.77.0.0/16 that exist inside namespaces the lab itself created, bounds every
loop in count and time, and removes what it built even when a test fails.
"""
