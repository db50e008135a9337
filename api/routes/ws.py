"""WebSocket endpoint: `/v1/ws?token=<access token>&since=<last event id>`.

Pushes `message`, `friend_request` and `friend_request_accepted` events, each with an
`event_id`; `heartbeat` frames every WS_HEARTBEAT_SECONDS. Clients may send `"ping"`
(answered with `{"type": "pong"}`); anything else is ignored; frames above
WS_MAX_FRAME_BYTES or more than WS_FRAMES_PER_SECOND are closed. The token may also be
sent as the subprotocol pair `bearer, <token>` to keep it out of URLs and logs.
The session itself (handshake checks, tasks, heartbeat, resume, re-checks of the token
when the user's principal changes and at its expiry) is `redislayer/wssession.py`; this
route only supplies authentication.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from api.deps import authenticate
from api.errors import ApiError
from redislayer import wssession

router = APIRouter()


@router.websocket("/ws")
async def websocket(ws: WebSocket, token: str | None = None, since: str | None = None) -> None:
    state = ws.app.state

    async def grant_of(token: str | None) -> wssession.Grant | None:
        """None for a token that does not authenticate (401); a dependency being down raises:
        the session closes 1011 (retry) rather than 4001 (log in again)."""
        try:
            user = await authenticate(state.graph, state.cache, state.settings, token)
        except ApiError as exc:
            if exc.status == 401:
                return None
            raise
        return wssession.Grant(
            user=user.id,
            expires_at=float(user.expires_at),
            principal=(user.token_version, user.roles),
        )

    await wssession.serve(
        ws, grant_of, state.redis, state.hub, state.settings, token=token, since=since
    )
