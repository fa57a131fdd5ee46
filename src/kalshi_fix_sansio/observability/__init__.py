"""What a session shows of itself: metrics and the FIX message log (writing and reading).

May import: the session layer and below.
"""
