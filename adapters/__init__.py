"""Transport adapters: put a `kalshi_fix_sansio.Session` on the wire.

`kalshi_fix_sansio.adapters.blocking`, `.asyncio` and `.trio` each pump bytes between a TLS
socket and the sans-IO core and drive its timers; they make no protocol decision.
"""
