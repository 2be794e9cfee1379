import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from oauth2_provider.models import AbstractApplication

from schemas.vocabularies import AGENCY_KINDS, REFERRAL_SERVICES, ROLES, SECTORS, choices, codes


class Agency(models.Model):
    """A party to the exchange: an OPS, PCPR, NGO, police unit, employer..."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=32, choices=choices(AGENCY_KINDS))
    sector = models.CharField(max_length=16, choices=choices(SECTORS))
    # TERYT (GUS register) code of the gmina or powiat served: 7 digits for a
    # gmina (woj., powiat, gmina, type), 4 for a powiat.
    teryt = models.CharField(
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^(\d{4}|\d{7})$", "A TERYT code has 4 (powiat) or 7 (gmina) digits.")],
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=codes(AGENCY_KINDS)), name="agency_kind_known"),
            models.CheckConstraint(condition=models.Q(sector__in=codes(SECTORS)), name="agency_sector_known"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person working for an agency, in one role."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=32, choices=choices(ROLES))
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "agency"], name="membership_unique_user_agency"),
            models.CheckConstraint(condition=models.Q(role__in=codes(ROLES)), name="membership_role_known"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.agency} ({self.role})"


class AgencyApplication(AbstractApplication):
    """An OAuth2 client, always bound to one agency.

    Client-credentials clients act as the agency itself; authorization-code
    clients act for a user who must be a member of the same agency.
    `allowed_scopes` caps what the client may request: DOT grants any scope in
    SCOPES unless the validator limits it (see agencies/oauth2_validators.py).
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="applications")
    allowed_scopes = models.TextField(help_text="Space-separated scopes this client may request.")

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

    @property
    def allowed_scope_set(self) -> set[str]:
        return set(self.allowed_scopes.split())


class Team(models.Model):
    """An interdisciplinary team (zespół interdyscyplinarny, ZI) of a gmina, or a
    diagnostic-and-support group (grupa diagnostyczno-pomocowa, GDP) formed by a
    ZI for one case (art. 9a-9b of the Act on Counteracting Domestic Violence).
    A consent or legal basis may name a team as recipient: it then reaches the
    members with access (agencies/selectors.py `team_access_ids`), never the
    rows of TeamMembership as such."""

    ZI = "zi"
    GDP = "gdp"
    KINDS = (ZI, GDP)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # An organisational name ("ZI Wrocław", "GDP 12/2026"): never a person's name,
    # since every member and the event feed see it.
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=[(ZI, "Zespół interdyscyplinarny"), (GDP, "Grupa diagnostyczno-pomocowa")])
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="groups")
    teryt = models.CharField(max_length=7, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="zi", parent__isnull=True) | models.Q(kind="gdp", parent__isnull=False),
                name="team_gdp_has_parent_zi",
            ),
            # Art. 9a of the Act: a gmina appoints one interdisciplinary team.
            models.UniqueConstraint(
                fields=["teryt"], condition=models.Q(kind="zi") & ~models.Q(teryt=""), name="team_one_zi_per_gmina"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """An agency in a team. It has access to the team's data only while the row
    is active (`removed_at` null) and its signed confidentiality declaration
    (art. 9c of the Act) has been received. A removed member's row stays for
    history; adding the agency again creates a new row."""

    CHAIR = "chair"
    MEMBER = "member"
    ROLES = (CHAIR, MEMBER)

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="team_memberships")
    role = models.CharField(max_length=8, choices=[(CHAIR, "Przewodniczący"), (MEMBER, "Członek")], default=MEMBER)
    confidentiality_declaration_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=("chair", "member")), name="team_membership_role_known"),
            models.UniqueConstraint(
                fields=["team", "agency"], condition=models.Q(removed_at__isnull=True), name="team_membership_one_active"
            ),
            # One chair (przewodniczący) at a time: handing over demotes the old one.
            models.UniqueConstraint(
                fields=["team"], condition=models.Q(role="chair", removed_at__isnull=True), name="team_one_active_chair"
            ),
        ]


class TeamMembershipChange(models.Model):
    """History of a team's membership: one row per change, written in the
    transaction of the change. Ids and codes only; the actor as a label."""

    ADDED = "added"
    REMOVED = "removed"
    DECLARATION_RECORDED = "declaration_recorded"
    ROLE_CHANGED = "role_changed"
    CHANGES = (ADDED, REMOVED, DECLARATION_RECORDED, ROLE_CHANGED)

    # An increasing id orders the changes of one transaction, which share `at`.
    id = models.BigAutoField(primary_key=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="membership_changes")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    change = models.CharField(max_length=24, choices=[(c, c) for c in CHANGES])
    role = models.CharField(max_length=8, help_text="the member's role after the change")
    confidentiality_declaration_at = models.DateTimeField(null=True, blank=True)
    actor = models.CharField(max_length=255, help_text="Caller.actor_label: a client or user id, never a name")
    acting_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(change__in=("added", "removed", "declaration_recorded", "role_changed")),
                name="team_membership_change_known",
            ),
        ]
        indexes = [models.Index(fields=["team", "at"], name="team_membership_change_team")]


class OutboxEvent(models.Model):
    """A thin event: ids, a type, a status and the agencies concerned, never
    person data (DESIGN.md principle 5). Written in the same transaction as the
    change it announces; delivered to webhooks and the pull feed from here."""

    seq = models.BigAutoField(primary_key=True)
    id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    object_type = models.CharField(max_length=32)
    object_id = models.UUIDField()
    status = models.CharField(max_length=32, blank=True)
    agencies = models.JSONField(help_text="ids of the agencies concerned: only they see the event")
    data = models.JSONField(default=dict, help_text="further ids and codes; never person data")
    # Set by the relay, which sees committed events in order: the pull feed's
    # cursor. (`seq` is given at insert, so it may commit out of order.)
    feed_position = models.BigIntegerField(null=True, unique=True)
    relayed_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="outbox_object"),
            models.Index(fields=["seq"], condition=models.Q(relayed_at__isnull=True), name="outbox_unrelayed"),
        ]

    def as_message(self) -> dict:
        """The event as webhooks and the pull feed carry it."""
        return {
            "id": str(self.id),
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "object": {"type": self.object_type, "id": str(self.object_id)},
            "status": self.status,
            "agencies": self.agencies,
            "data": self.data,
        }


class EventAudience(models.Model):
    """Who may see an event: one row per agency concerned (an index, where a
    JSON list could not be queried on SQLite)."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="audience")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "event"], name="event_audience_unique")]


class FeedState(models.Model):
    """The relay's lock row and the last feed position it gave."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    position = models.BigIntegerField(default=0)


class WebhookEndpoint(models.Model):
    """Where an agency wants its events pushed, signed per Standard Webhooks."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField(max_length=2048)
    event_types = models.JSONField(default=list, help_text="empty: every event type")
    secret = models.CharField(max_length=128, help_text="whsec_...; shown to the agency once")
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class Delivery(models.Model):
    """One event to one endpoint: retried with backoff until delivered or dead."""

    PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, default=PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_endpoint")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]


class RevokedAccessToken(models.Model):
    """What is left of an access token revoked before it expired: its SHA-256
    (DOT's `token_checksum`, never the token), so the API can say "revoked"
    instead of "not known" (DOT deletes revoked tokens). Kept until the token
    would have expired; purged with the expired tokens."""

    token_checksum = models.CharField(max_length=64, unique=True)
    revoked_at = models.DateTimeField()
    expires = models.DateTimeField(db_index=True)


# --- The service directory (issue 14; DESIGN 6.2) ---------------------------------
#
# Field names follow the Open Referral Human Services Data Specification
# (HSDS 3.1): an agency is an HSDS organization, DirectoryLocation a location,
# DirectoryService a service at one location, its places a service_capacity.
# The directory holds organisations and their offers, never people.

# HSDS service.status
SERVICE_ACTIVE = "active"
SERVICE_STATUSES = [SERVICE_ACTIVE, "inactive", "defunct", "temporarily closed"]

TERYT_GMINA = RegexValidator(r"^\d{7}$", "A gmina's TERYT code has 7 digits.")


class DirectoryLocation(models.Model):
    """Where an agency offers services (HSDS location). A confidential one (a
    shelter's address) is shown only to the agency's own people: everyone
    else sees its gmina and never its address (agencies/directory.py)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="locations")
    name = models.CharField(max_length=255)
    teryt = models.CharField(max_length=7, validators=[TERYT_GMINA])
    address_1 = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=255, blank=True)
    postal_code = models.CharField(max_length=6, blank=True)
    confidential = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DirectoryService(models.Model):
    """One service an agency offers at a location (HSDS service and its
    service_at_location), coded by the referral services of DESIGN 4.1, with
    live capacity where it has places (capacity_total set): free places, and
    when they were last updated (by the agency, or by a referral accepted or
    ended, agencies/directory.py)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="directory_services")
    location = models.ForeignKey(DirectoryLocation, on_delete=models.PROTECT, related_name="services")
    service = models.CharField(max_length=32, choices=choices(REFERRAL_SERVICES))
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=32, default=SERVICE_ACTIVE, choices=[(s, s) for s in SERVICE_STATUSES])
    # Who it is for: codes of schemas/vocabularies/eligibility_groups.json, and ages.
    eligibility = models.JSONField(default=list, blank=True)
    eligibility_description = models.TextField(blank=True)
    minimum_age = models.PositiveSmallIntegerField(null=True, blank=True)
    maximum_age = models.PositiveSmallIntegerField(null=True, blank=True)
    # ISO 639-1 codes of the languages the service is given in.
    languages = models.JSONField(default=list, blank=True)
    # Opening hours: [{"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "16:00"}]
    # (HSDS schedule); an empty list with open_24h for round-the-clock services.
    schedules = models.JSONField(default=list, blank=True)
    open_24h = models.BooleanField(default=False)
    # Contact for professionals (never a person's contact in care).
    contact_name = models.CharField(max_length=255, blank=True)
    contact_phone = models.CharField(max_length=32, blank=True)
    contact_email = models.EmailField(blank=True)
    # Live capacity (HSDS service_capacity): null total = no places to count.
    capacity_total = models.PositiveIntegerField(null=True, blank=True)
    capacity_free = models.PositiveIntegerField(null=True, blank=True)
    capacity_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["service", "status"], name="directory_service_code")]
        constraints = [
            models.CheckConstraint(condition=models.Q(service__in=codes(REFERRAL_SERVICES)), name="directory_service_known"),
            models.CheckConstraint(condition=models.Q(status__in=SERVICE_STATUSES), name="directory_service_status_known"),
            # Places are counted all together or not at all, and never more free than there are.
            models.CheckConstraint(
                condition=(
                    models.Q(capacity_total__isnull=True, capacity_free__isnull=True, capacity_updated_at__isnull=True)
                    | models.Q(capacity_total__isnull=False, capacity_free__isnull=False,
                               capacity_updated_at__isnull=False, capacity_free__lte=models.F("capacity_total"))
                ),
                name="directory_service_capacity_whole",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CapacityChange(models.Model):
    """Every change of a service's free places, and why: the record behind
    "updated at" (append-only by use: written only by agencies/directory.py)."""

    REASONS = ["agency_update", "referral_accepted", "referral_ended", "agreement_places"]

    id = models.BigAutoField(primary_key=True)
    service = models.ForeignKey(DirectoryService, on_delete=models.CASCADE, related_name="capacity_changes")
    at = models.DateTimeField()
    free = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    reason = models.CharField(max_length=32, choices=[(r, r) for r in REASONS])
    referral_id = models.UUIDField(null=True, blank=True)  # the referral that took or gave back a place
    actor = models.CharField(max_length=255, blank=True)  # "user:<id>" or "client:<client_id>"

    class Meta:
        ordering = ["at", "id"]
