from dataclasses import dataclass

from .models import Agency, AgencyApplication


@dataclass(frozen=True)
class Caller:
    """Who is calling: always an agency; the OAuth2 client for API calls (None
    on the hub's own pages); a user for authorization-code tokens and pages
    (None for client credentials). A job of the hub itself acting for an
    agency (retention) has neither and names itself in `system`."""

    agency: Agency
    application: AgencyApplication | None = None
    user: object | None = None
    system: str = ""

    @property
    def actor_label(self) -> str:
        """How the accounting of disclosures names the actor: never a name."""
        if self.user is not None:
            return f"user:{self.user.pk}"
        if self.application is not None:
            return f"client:{self.application.client_id}"
        if self.system:
            return f"system:{self.system}"
        raise ValueError("A caller with no user, client or system job cannot be named in the ledger.")
