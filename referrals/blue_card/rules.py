"""The rules of the Blue Card procedure, as codes: who opens it, its steps, who
may record each, the order they come in, how it closes, and what the law lets
the teams process without consent.

Sources: art. 9a-9e of the Act of 29 July 2005 on Counteracting Domestic
Violence as amended in 2023, and the Council of Ministers' regulation on the
Blue Card procedure and its forms NK-A to NK-D (2023).
"""

# --- Opening (NK-A) --------------------------------------------------------------------

# Art. 9d(2): the procedure is opened by a representative of a social
# assistance unit (OPS, PCPR), the gmina's alcohol commission (GKRPA), the
# police, education or health care filling in the NK-A form. The agency kinds
# of schemas/vocabularies/agency_kinds.json that are such bodies; any other
# kind is refused. The GKRPA is not an agency kind of the hub: its NK-A is
# entered by the gmina's OPS, which serves it.
NKA_OPENER_KINDS = ("ops", "pcpr", "police", "school", "health")

# The forms of violence ticked on the NK-A (art. 2(1) of the Act: physical,
# psychological, sexual, economic, including by electronic communication).
FORMS_OF_VIOLENCE = ("physical", "psychological", "sexual", "economic", "electronic", "other")

# Children in the household, as a count: the NK-A's own field.
MAX_CHILDREN = 30

# --- Steps -------------------------------------------------------------------------------

NKA_TO_CHAIR = "nka_to_chair"  # the NK-A reached the ZI's chair
GDP_FORMED = "gdp_formed"  # the chair formed the GDP and passed it the NK-A
GDP_MEETING = "gdp_meeting"  # a meeting of the GDP (repeatable)
NKC = "nkc"  # NK-C filled with the victim: the individual support plan agreed
NKD = "nkd"  # NK-D filled with the person suspected of violence
MONITORING = "monitoring"  # a check after closure
STEPS = (NKA_TO_CHAIR, GDP_FORMED, GDP_MEETING, NKC, NKD, MONITORING)

# Who may record each step. The ZI's chair receives the NK-A and forms the GDP
# (art. 9a-9b, 9d); the GDP works the case: its members record its
# meetings and fill NK-C and NK-D with the people concerned. Monitoring after
# closure is done by the GDP's members or ordered by the ZI's chair.
CHAIR = "zi_chair"
GDP_MEMBER = "gdp_member"
RECORDED_BY = {
    NKA_TO_CHAIR: (CHAIR,),
    GDP_FORMED: (CHAIR,),
    GDP_MEETING: (GDP_MEMBER,),
    NKC: (GDP_MEMBER,),
    NKD: (GDP_MEMBER,),
    MONITORING: (GDP_MEMBER, CHAIR),
}

# Steps recorded at most once, and the step each one needs before it.
ONCE = (NKA_TO_CHAIR, GDP_FORMED)
NEEDS = {GDP_FORMED: NKA_TO_CHAIR, GDP_MEETING: GDP_FORMED, NKC: GDP_FORMED, NKD: GDP_FORMED}
# Steps that carry a document, and its schema (schemas/json/).
CONTENT_SCHEMAS = {NKC: "blue-card-nkc", NKD: "blue-card-nkd"}
NKA_SCHEMA = "blue-card-nka"

# --- Deadlines -----------------------------------------------------------------------------

# Each deadline is met by the step of the same name and runs, in working days
# (settings.BLUE_CARD_DEADLINE_WORKING_DAYS), from the step before it: the NK-A
# reaches the chair within 5 working days of the opening, the chair passes it
# to the GDP within 3 of receiving it, and the GDP first meets within 5 of
# being formed. (None: from the opening.)
DEADLINES_AFTER = {None: NKA_TO_CHAIR, NKA_TO_CHAIR: GDP_FORMED, GDP_FORMED: GDP_MEETING}
DEADLINE_STEPS = (NKA_TO_CHAIR, GDP_FORMED, GDP_MEETING)

# --- Closure --------------------------------------------------------------------------------

# The regulation's two grounds: violence ceased (and the support plan was
# carried out), or action was found groundless.
VIOLENCE_CEASED = "violence_ceased"
GROUNDLESS = "groundless"
GROUNDS = (VIOLENCE_CEASED, GROUNDLESS)

# --- The legal basis (art. 9c) -----------------------------------------------------------------

BASIS = "blue_card_procedure"
BASIS_PURPOSES = ("case_coordination", "team_plan")

# Art. 9c(1): members of the ZI and its GDPs process, without the knowledge or
# consent of the people concerned, the data of people experiencing domestic
# violence and of those suspected of it, including data on health, addictions,
# convictions and other court or administrative decisions, to the extent
# needed for the procedure. In the hub's categories: the person and how to
# reach them safely, the risk, the case notes and the children the NK-A
# records, their schooling (education: the school is a member of every ZI,
# art. 9a(3), because a child's attendance and the pedagogue's support are
# part of the plan), health (mental health included), addictions
# (substance_use), decisions (legal_proceedings), and the person suspected
# (perpetrator). Not covered, so they still need consent or another basis:
# migration status, employment, finances and location (a shelter's address is
# the most dangerous fact to spread).
BASIS_CATEGORIES = (
    "identity", "contact", "safe_contact", "demographics", "risk", "case_notes", "children", "education",
    "health", "mental_health", "substance_use", "legal_proceedings", "perpetrator",
)
# The whole ZI (every member agency of the gmina's team) gets the basis when
# the procedure opens, so its chair can read the NK-A and form the group; the
# data of the person suspected (NK-D) is needed only by the GDP that works
# with them (art. 9c "to the extent needed"), so the ZI's basis leaves it out.
ZI_BASIS_CATEGORIES = tuple(c for c in BASIS_CATEGORIES if c != "perpetrator")
GDP_BASIS_CATEGORIES = BASIS_CATEGORIES
