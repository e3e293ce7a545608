"""Compatibility with other prompt-management products: their formats, read and written.

Pure translation (no database, no HTTP): below ``domain``, beside ``contract``.
"""
