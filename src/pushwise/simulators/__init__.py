"""Loopback peers that speak the providers' real protocols, with fault injection.

Integration tests, the demo and the benchmarks send to these instead of Apple,
Google, push services or mail servers; they only ever bind 127.0.0.1.
"""
