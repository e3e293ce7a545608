"""The TypeScript SDK's cache benchmark: ``python -m bench.typescript`` (see __main__)."""
