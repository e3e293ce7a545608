"""The dashboard: server-rendered pages (Jinja2) and a little vanilla JavaScript, served by
the same FastAPI app as the API. No front-end build step; nothing is fetched from elsewhere.

Pages live at ``/`` (sign in at ``/login``), assets at ``/static``. Every page acts through
the same domain services as the API, as the signed-in user (``user:<email>`` in deployment
history and the audit log).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

__all__ = ["install_dashboard"]

_STATIC = Path(__file__).with_name("static")


def install_dashboard(api: FastAPI) -> None:
    from promptops.server.dashboard import (
        agent_pages,
        auth_pages,
        change_pages,
        editor,
        log_pages,
        project_pages,
        prompt_pages,
        webhook_pages,
    )

    pages = (auth_pages, project_pages, prompt_pages, editor, change_pages, log_pages)
    for module in (*pages, webhook_pages, agent_pages):
        api.include_router(module.router)
    api.mount("/static", StaticFiles(directory=_STATIC), name="static")
