"""Channels: list, find, add, enable and disable; how many contacts each holds by affinity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ccconsole.core import urns as urnlib
from ccconsole.core.model import RECEIVE, SEND
from ccconsole.core.model import Channel as CoreChannel
from ccconsole.errors import NotFound, ValidationFailed
from ccconsole.store import channels as rows
from ccconsole.store import problems as cleanup_rows

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace


class ChannelsService:
    def __init__(self, ws: Workspace):
        self.ws = ws

    def list(self) -> list[CoreChannel]:
        """The workspace's channels, oldest first (the order the resolver expects)."""
        return rows.all_channels(self.ws.scope)

    def find(self, ref: str) -> CoreChannel:
        """A channel by uuid, id or name (case-insensitive)."""
        ref = ref.strip()
        for ch in self.list():
            if ref in (ch.uuid, str(ch.id)) or ref.lower() == ch.name.lower():
                return ch
        raise NotFound(f"No channel '{ref}'.")

    def affinity_counts(self) -> dict[tuple[int, str], int]:
        """How many contacts' *priority* connection has affinity to each channel, by connection type:
        ``{(channel id, scheme): contacts}`` (core.lockin.affinity_kind says what each amounts to)."""
        return rows.affinity_counts(self.ws.scope)

    def add(self, name: str, type: str, schemes: Sequence[str], *, address: str = "",
            roles: Sequence[str] = (SEND, RECEIVE), country: str | None = None,
            match_prefixes: Sequence[str] = (), allow_international: bool = False,
            created_on: datetime | None = None) -> CoreChannel:
        name = name.strip()
        schemes = [s.strip().lower() for s in schemes if s.strip()]
        errors = {}
        if not name:
            errors["name"] = "A channel needs a name."
        if not schemes:
            errors["schemes"] = "A channel serves at least one connection type."
        for scheme in schemes:
            if scheme not in urnlib.SCHEMES:
                errors["schemes"] = f"Unknown connection type '{scheme}'."
        bad_roles = set(roles) - {SEND, RECEIVE}
        if bad_roles:
            errors["roles"] = f"Unknown role(s): {', '.join(sorted(bad_roles))} (send, receive)."
        if country and (len(country) != 2 or not country.isalpha()):
            errors["country"] = "Country must be a two-letter ISO code, e.g. RW."
        if country and "tel" not in schemes:
            errors["country"] = "Only phone channels have a country."
        if any(not p.lstrip("+").isdigit() for p in match_prefixes):
            errors["match_prefixes"] = "Prefixes are digits, e.g. 25078."
        if errors:
            raise ValidationFailed(errors)
        with self.ws.transaction() as uow:
            if rows.name_taken(uow.session, self.ws.info.id, name):
                raise ValidationFailed({"name": f"A channel named '{name}' exists already."})
            channel = rows.insert(uow, name=name, type=type, address=address.strip(), schemes=schemes,
                                  roles=list(roles), country=country.upper() if country else None,
                                  match_prefixes=[p.lstrip("+") for p in match_prefixes],
                                  allow_international=allow_international, created_on=created_on or uow.now)
            uow.audit("channel.add", channel_id=channel.id, after={"name": name, "type": type, "schemes": schemes})
            uow.touched |= cleanup_rows.affected_by_channel(uow.session, self.ws.scope, channel.id, schemes,
                                                            gained=True)
        return channel

    def set_active(self, ref: str, active: bool) -> CoreChannel:
        """Enable or disable a channel (a disabled one routes nothing; affinities to it go stale)."""
        ch = self.find(ref)
        with self.ws.transaction() as uow:
            channel, changed = rows.set_active(uow, ch.id, active)
            if changed:
                uow.audit("channel.enable" if active else "channel.disable", channel_id=ch.id,
                          before={"active": not active}, after={"active": active})
                uow.touched |= cleanup_rows.affected_by_channel(uow.session, self.ws.scope, ch.id, ch.schemes,
                                                                gained=active)
        return channel
