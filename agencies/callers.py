from dataclasses import dataclass

from .models import Agency, AgencyApplication


@dataclass(frozen=True)
class Caller:
    """Who is calling: always an agency; a user too when the token was issued
    through the authorization-code flow (None for client credentials)."""

    agency: Agency
    application: AgencyApplication
    user: object | None = None

    @property
    def actor_label(self) -> str:
        """How the accounting of disclosures names the actor: never a name."""
        if self.user is not None:
            return f"user:{self.user.pk}"
        return f"client:{self.application.client_id}"
