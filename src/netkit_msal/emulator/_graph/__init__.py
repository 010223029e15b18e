"""Placeholder until the Graph side of the emulator lands: every Graph path answers 404."""

from __future__ import annotations

from typing import Callable, Optional

from .._http import Request, Response


class GraphApi:
    def __init__(self, directory, verify_access_token: Callable[[str], dict], count: Callable[[str], None],
                 *, state_file: Optional[str] = None) -> None:
        self.directory = directory

    def handle(self, req: Request) -> Response:
        return Response.json({"error": {"code": "ResourceNotFound", "message": "Not implemented yet"}}, 404)

    def save(self) -> None:
        pass
