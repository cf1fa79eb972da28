"""The HTTP API: MovieMind's REST contract over the same use cases as the CLI and the TUI.

A front end like the others: Starlette routes parse a request, call one use
case of :class:`~moviemind_lite.app.wiring.App`, and shape the answer the way
the original service does (``docs/api.md`` lists where Lite differs). Served
by ``moviemind serve`` (uvicorn); nothing below the front ends imports it.
"""
