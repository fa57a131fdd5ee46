"""The codec: bytes <-> typed messages, from the spec's tables.

Framing (`framing`), values, fields and records, decoding and encoding, the spec's tables
(`spec`, `ranges`), the library's exceptions (`errors`), secret redaction (`redaction`) and the
generated message classes (`_generated`, made by ``python -m codegen``; never edited by hand).

May import: nothing of the package above it (it is the ground floor).
"""
