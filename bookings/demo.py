"""Demo data, written from the Board's own reports rather than invented.

Sources: the LCPC manager's progress report of 19 July 2006, the committee workplan 2006/07, the
London Board manager's progress reports of February 2008 and mid 2008, and the Board manager's
report of November 2011. Names, dates, times, places, chairs, remits and meeting calendars come
from them; "(prov)" becomes a provisional meeting and "tbc"/"tba" a meeting to be confirmed.

Where the reports are silent, the demo chooses, and says so here:
- capacities are not in the reports; chosen;
- times, where a report gives none (the annual conferences, the first seminar of the 2008
  series, the 6 May 2008 seminar day, the 18 June 2008 conference, the train-the-trainer
  mornings and afternoons, the 2011 seminars), are chosen;
- venues: the 2007 conference is put at the QEII Conference Centre like the years around it; the
  2008 seminars and the disturbances seminar, whose venues are not given, at London Councils
  (where the Board sat); street addresses and directions are the venues' public ones;
- the disturbances seminar was "in November" 2011: Tuesday 29 November is chosen;
- booking windows: archived events opened eight weeks ahead; every event closes at 5pm the day
  before.
Contacts are example.org addresses, never the personal addresses printed in the reports.

So that a new user finds something to book, the demo also has a current season: the 2011/12
programme (events and network meetings from the November 2011 report on) and the 2008 programme
(the mini-conference, seminars and June conference) are each copied forward by a whole number of
weeks, see ``weeks_forward``. Copies keep titles, weekdays, London times and programmes, get a
slug with their own year, and open for booking on the day of loading; the originals stay in the
archive.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import click
from sqlalchemy import func, select

from bookings.accounts.service import MIN_PASSWORD_LENGTH
from bookings.db import db, utcnow
from bookings.london import london_date, london_datetime, london_day_bounds
from bookings.models import (
    Booking,
    Event,
    EventKind,
    EventStatus,
    Meeting,
    MeetingStatus,
    Network,
    OrganiserUser,
    ProgrammeSlot,
    Role,
    Sector,
    SlotKind,
    Speaker,
    Venue,
)

ORGANISER_EMAIL = "organiser@example.org"
DEFAULT_ORGANISER_PASSWORD = "demo-organiser"
LEAD_TIME = timedelta(weeks=2)
# The first "future meeting" of the November 2011 report: the 2011/12 season starts here.
SEASON_2011_FROM = date(2011, 11, 16)
PAPERS = "http://www.londonscb.gov.uk/"

# The reports say "Social Services"; the system calls it social care.
SECTORS = [
    "Health",
    "Police",
    "Social care",
    "Education",
    "Probation",
    "Voluntary and community",
    "Youth justice",
    "Local authority (other)",
    "Other",
]

# key: (name, address, postcode, directions)
VENUES = {
    "qeii": (
        "QEII Conference Centre",
        "Broad Sanctuary, Westminster, London",
        "SW1P 3EE",
        "Opposite Westminster Abbey. Nearest stations: Westminster and St James's Park.",
    ),
    "kings": (
        "King's College London, The Great Hall",
        "Strand, London",
        "WC2R 2LS",
        "Nearest stations: Temple, Charing Cross and Embankment.",
    ),
    "british-library": (
        "British Library",
        "96 Euston Road, London",
        "NW1 2DB",
        "Nearest stations: King's Cross St Pancras and Euston.",
    ),
    "red-cross": (
        "British Red Cross headquarters",
        "44 Moorgate, London",
        "EC2R 6AL",
        "Nearest stations: Moorgate and Bank.",
    ),
    "city-hall": (
        "City Hall",
        "The Queen's Walk, London",
        "SE1 2AA",
        "Nearest station: London Bridge.",
    ),
    "london-councils": (
        "London Councils",
        "59½ Southwark Street, London",
        "SE1 0AL",
        "Nearest stations: London Bridge and Southwark.",
    ),
}

# --------------------------------------------------------------------------- networks
#
# Meetings are written as in the reports: "YYYY-MM-DD [HH:MM[-HH:MM]] [prov] [| note]", or
# "tbc [| note]" when no date is set.

NETWORKS: list[dict[str, Any]] = [
    {
        "slug": "london-board",
        "name": "London Safeguarding Children Board",
        "chair": "Cheryl Coppell",
        "contact": "Ian Dean",
        "remit": (
            "Leads London-wide work to safeguard children: the London Child Protection "
            "Procedures and their supplementary procedures, the review of London serious case "
            "reviews, joint initiatives with partner agencies, multi-agency training and the "
            "annual Safeguarding London's Children conference.\n\n"
            "Formerly the London Child Protection Committee (LCPC), whose 2006/07 workplan set "
            "its meetings for 1pm."
        ),
        "meetings": [
            "2006-04-19 13:00",
            "2006-07-19 13:00",
            "2006-10-25 13:00",
            "tbc | January 2007, 1pm",
        ],
    },
    {
        "slug": "lscb-chairs",
        "name": "LSCB Chairs network",
        "chair": "Tim Beach",
        "chair_organisation": "Barnet",
        "membership": (
            "The 32 London LSCB Chairs. The Department for Education is also represented, as a "
            "link into national policy developments."
        ),
        "remit": (
            "Brings together the Chairs of London's Local Safeguarding Children Boards. The "
            "London LSCB Chairs and the LCPC first met in July 2006 to strengthen the links "
            "between them; the results of the Board's LSCB funding survey were made available "
            "through the group in November 2011.\n\n"
            "In 2008 the group was chaired by Dave Hill, Merton SCB Chair."
        ),
        "papers": "lscb_chairs/",
        "meetings": [
            "2008-07-28",
            "2011-09-08",
            "2011-12-06 10:00-12:00",
            "2012-02-23 10:00-12:00 prov",
            "2012-05-17 10:00-12:00",
            "2012-09-20 10:00-12:00",
            "2012-12-06 10:00-12:00 prov",
        ],
    },
    {
        "slug": "lscb-development-officers",
        "name": "LSCB development officers network",
        "chair": "Suzanne Elwick",
        "chair_organisation": "Waltham Forest",
        "membership": "The 32 London LSCB development officers or equivalent.",
        "remit": (
            "Brings together London's LSCB development officers; papers and resources shared "
            "by the group are kept on the Board's website.\n\n"
            "In 2008 the network was chaired by Christine Christie, London Board Manager."
        ),
        "papers": "lscb_development_officers_network/",
        "meetings": [
            "2008-04-22",
            "2008-07-22",
            "2011-09-06",
            "2011-11-16 14:00-16:00",
            "2012-02-14 14:00-16:00",
            "2012-05-08 14:00-16:00",
            "2012-09-11 14:00-16:00",
            "2012-11-27 14:00-16:00",
        ],
    },
    {
        "slug": "child-protection-managers",
        "name": "London child protection managers",
        "chair": "Sally Phillips",
        "chair_organisation": "Hounslow",
        "membership": "The 33 London borough child protection managers or equivalent.",
        "remit": (
            "Meets quarterly to share good practice, monitor and discuss trends in child "
            "protection activity and develop pan-London solutions to shared issues."
        ),
        "meetings": ["2011-10-13", "tbc | 2pm to 4pm; dates will be available shortly"],
    },
    {
        "slug": "mental-health-named-professionals",
        "name": (
            "Network of safeguarding children named professionals in London mental health trusts"
        ),
        "chair": "Jan Pearson",
        "chair_organisation": "East London NHS Trust",
        "membership": (
            "The named professionals for safeguarding children in the ten London mental health "
            "trusts."
        ),
        "remit": (
            "Supports London mental health trust staff working in this relatively new and very "
            "specialist area to carry out their role confidently and effectively: raising issues "
            "for named and designated professionals and Board leads, embedding child protection "
            "into health service practice, sharing models of good practice, disseminating "
            "information and developing training.\n\n"
            "Set up in 2006 by the LCPC with CSIP, the London PCTs and the mental health trusts. "
            "With the Health network it hosted the February 2008 mini-conference on aligning "
            "serious case reviews and serious untoward incidents."
        ),
        "papers": "mental_health_network/",
        "meetings": ["2008-04-25", "2011-10-13", "tbc | 9.30am to 12pm"],
    },
    {
        "slug": "health-network",
        "name": "Health network",
        "chair": "Sally Jones",
        "chair_organisation": "Greenwich Teaching PCT",
        "remit": (
            "The London Safeguarding Children Professionals Network for health services, set up "
            "in 2006 by the LCPC with CSIP, the London PCTs and the mental health trusts, to "
            "raise issues for named and designated professionals and Board leads, embed child "
            "protection into health service practice, share models of good practice, disseminate "
            "information and develop training.\n\n"
            "With the mental health network it hosted the February 2008 mini-conference on "
            "aligning serious case reviews and serious untoward incidents."
        ),
        "meetings": ["2008-02-21", "tbc | tba in mid 2008"],
    },
    {
        "slug": "schools-network",
        "name": "London safeguarding children in schools network",
        "chair": "Jo Green",
        "chair_organisation": "Government Office for London",
        "remit": (
            "Set up in 2006 by the LCPC with the Regional Partnership at GOL. Its remit includes "
            "safeguarding children and young people with learning difficulties and disabilities "
            "in independent and non-maintained residential special schools, looked after "
            "children, and children and young people with mental health needs.\n\n"
            "Chaired until spring 2008 by Mary Khun, Lead for the London SEN Regional "
            "Partnership; the Regional Partnership ceased in April 2008."
        ),
        "meetings": ["2008-03-20", "tbc | tba in mid 2008"],
    },
    {
        "slug": "cdop-chairs",
        "name": "Child Death Overview Panel (CDOP) Chairs network",
        "chair": "Ruth Meadows",
        "chair_organisation": "Wandsworth CDOP",
        "membership": "The Chairs of all London's Child Death Overview Panels.",
        "remit": (
            "Promotes consistency and shares good practice around the operation of child death "
            "review processes in London. London CDOPs' annual reports to their LSCBs have been "
            "collated by the London Board and analysed for common themes in a London overview "
            "report."
        ),
        "papers": "child_death/",
        "meetings": ["2011-09-13", "2011-12-06 14:00-16:00"],
    },
    {
        "slug": "culture-and-faith",
        "name": "Safeguarding children across culture and faith",
        "chair": "Andrew Fraser",
        "chair_organisation": "Enfield",
        "membership": (
            "Representatives from Local Safeguarding Children Boards and a wide range of "
            "statutory and non-statutory agencies."
        ),
        "remit": (
            "Responds to the safeguarding needs of London's diverse communities and faith "
            "groups, and co-ordinates the pan-London safeguarding children culture and faith "
            "project.\n\n"
            "In 2008, chaired by Hannah Miller (Croydon), the sub-group took forward the "
            "recommendations of the Community Partnership Project and supported LSCBs in work "
            "with BME communities, such as the FGM routine screening initiative."
        ),
        "papers": "culture_and_faith/",
        "meetings": ["2008-07-03", "2011-09-14", "2011-12-07 14:00-16:00"],
    },
    {
        "slug": "training-subgroup",
        "name": "London Board training sub-group",
        "chair": "Bernadette Boland",
        "chair_organisation": "Ealing",
        "membership": (
            "All London LSCB training co-ordinators, the Training Manager for the Metropolitan "
            "Police, a representative of the training sub-group of the London Designated Nurses "
            "Network and a representative of the NSPCC."
        ),
        "remit": (
            "Produced model induction training for LSCBs, keeps Competence Matters (the Board's "
            "pan-London LSCB training framework) under review and compiles a list of recommended "
            "child protection trainers.\n\n"
            "In abeyance in 2008, and reconstituted when needed."
        ),
        "papers": "training_subgroup/",
        "meetings": [
            "2011-09-06",
            "2011-11-16 12:00-13:30",
            "2012-02-14 12:00-13:30",
            "2012-05-08 12:00-13:30",
            "2012-09-11 12:00-13:30",
            "2012-11-27 12:00-13:30",
        ],
    },
    {
        "slug": "olympics-subgroup",
        "name": "Olympics sub-group",
        "chair": "Philip Ishola",
        "chair_organisation": "Harrow Council",
        "membership": (
            "The Olympic LSCBs, other interested LSCBs, the Metropolitan Police Service (SCD5 and "
            "SCD9) and the voluntary and community sector (ECPAT UK, Refugee Council, Children's "
            "Society, Stop the Traffik)."
        ),
        "remit": (
            "Makes sure that London LSCBs and partner agencies are prepared for the challenges "
            "of safeguarding children at the 2012 Games, and influences the Olympics delivery "
            "agencies to give safeguarding children priority in planning and delivering them."
        ),
        "papers": "olympics",
        "location": "London Councils",
        "meetings": [
            "2012-01-24 10:00-12:00",
            "2012-03-27 10:00-12:00",
            "2012-05-22 10:00-12:00",
        ],
    },
    {
        "slug": "serious-case-reviews-subgroup",
        "name": "Serious case reviews sub-group",
        "chair": "Simon Hart",
        "chair_organisation": "Barking & Dagenham SCB",
        "contact": "Dave Hill",
        "remit": (
            "Explores proactive ways of taking forward the learning and recommendations from the "
            "Review of London Board's Serious Case Reviews."
        ),
        "meetings": ["tbc | tba 2008"],
    },
    {
        "slug": "procedures-editorial-board",
        "name": "Procedures editorial board",
        "chair": "Helen Lincoln and Andrew Fraser",
        "chair_organisation": "Merton Children's Services and Haringey SCB",
        "contact": "Helen Lincoln",
        "remit": (
            "Edits the London Child Protection Procedures, whose third edition was reprinted "
            "twice in 2008 at the LSCBs' request, and their supplementary procedures."
        ),
        "meetings": ["tbc | tba July 2008"],
    },
    {
        "slug": "child-sexual-abuse-subgroup",
        "name": "Child sexual abuse sub-group",
        "chair": "Christine Christie",
        "chair_organisation": "London Board Manager",
        "remit": (
            "Promotes good practice in relation to child sexual abuse: supporting the sexual "
            "exploitation initiatives, promoting London implementation of the AIM project, "
            "supporting BASPCAN London, and organising the 2008 seminar series and June "
            "conference."
        ),
        "meetings": ["2008-07-10"],
    },
    {
        "slug": "health-subgroup",
        "name": "Health sub-group",
        "contact": "London Board Manager",
        "remit": (
            "Being convened jointly with NHS London; it is expected to report to both the London "
            "Board and the London Health & Wellbeing Board."
        ),
        "meetings": [],
    },
]

# --------------------------------------------------------------------------- events
#
# "day" and "time" are London wall-clock values; "slug" and "series" take {year} (and {date}).
# "season" marks the events copied into the current season.

ANNUAL_CONFERENCE = {
    "slug": "safeguarding-londons-children-{year}",
    "title": "Safeguarding London's Children",
    "kind": "conference",
    "venue": "qeii",
    "time": "09:30-16:30",
    "capacity": 450,
    "summary": (
        "The Board's annual conference for all agencies with responsibility for safeguarding "
        "children."
    ),
}

CSA_SEMINAR = {
    "slug": "child-sexual-abuse-seminar-{date}",
    "title": "Child sexual abuse seminar",
    "kind": "seminar",
    "venue": "london-councils",
    "capacity": 60,
    "series": "Child sexual abuse seminar series {year}",
    "host": "child-sexual-abuse-subgroup",
    "season": "2008",
    "summary": (
        "A multi-agency seminar with invited speakers and open discussion time, hosted by the "
        "London Board's sexual abuse sub-group."
    ),
    "description": (
        "Each seminar of the series features a presentation and discussion on a different "
        "aspect of child sexual abuse."
    ),
}

SAFE_GAMES = {
    "kind": "seminar",
    "venue": "red-cross",
    "capacity": 20,
    "series": "Safe Games for Children train-the-trainer sessions",
    "host": "training-subgroup",
    "notes": "Free, subject to availability.",
    "summary": (
        "For those with responsibility for training: using the Safe Games for Children pack to "
        "train POD managers, mentors and volunteers."
    ),
    "description": (
        "The Board's Safe Games for Children training sub-group, led by Bernadette Boland (Ealing "
        "LSCB) with four London LSCB training co-ordinators and volunteers from the Met Police, "
        "NSPCC, the Red Cross and Children and Families Across Borders, has developed a training "
        "pack for the volunteers of the London 2012 Games.\n\n"
        "Four sessions, in the morning and afternoon of two days, are delivered free of charge "
        "at the Red Cross headquarters in Moorgate."
    ),
}
MORNING = {
    "slug": "safe-games-train-the-trainer-{date}-morning",
    "title": "Safe Games for Children: train the trainer (morning)",
    "time": "10:00-12:30",
}
AFTERNOON = {
    "slug": "safe-games-train-the-trainer-{date}-afternoon",
    "title": "Safe Games for Children: train the trainer (afternoon)",
    "time": "14:00-16:30",
}

# Programme slots: (time, kind, title, description, [(speaker, organisation), ...])
MINI_CONFERENCE_PROGRAMME = [
    ("09:00", "registration", "Coffee & registration", "", []),
    ("09:30-09:45", "welcome", "Welcome & introduction", "", [("Sally Jones", "Greenwich PCT")]),
    (
        "09:45-10:15",
        "talk",
        "Serious incidents and SCR – common solutions for management and monitoring",  # noqa: RUF001
        "",
        [
            ("Briony Ladbury", "NHS London"),
            ("Rachel Horner", "NHS London"),
            ("Samantha Gradwell", "NPSA"),
        ],
    ),
    (
        "10:15-11:15",
        "talk",
        "Local mental health trust perspectives on responding to and aligning serious case "
        "reviews and serious untoward incident investigations",
        "North London multi-agency presentation: Jan Pearson, East London Foundation Trust, and "
        "other members of City and Hackney SCB.\n\n"
        "South London LSCB and trust presentation: Malcolm Ward, Southwark SCB, and Sue Lewis, "
        "SLAM.",
        [
            ("Jan Pearson", "East London Foundation Trust"),
            ("Malcolm Ward", "Southwark SCB"),
            ("Sue Lewis", "SLAM"),
        ],
    ),
    ("11:15-11:30", "break", "Coffee", "", []),
    (
        "11:30-12:30",
        "discussion",
        "Discussion groups",
        "Taking into consideration the current way SCRs & SUIs are conducted, individually and "
        "in relation to each other: what are the biggest challenges for the professionals "
        "involved? What changes would result in the most efficiency whilst maintaining or "
        "enhancing quality?",
        [],
    ),
    ("12:30-12:45", "discussion", "Summary & future planning", "", []),
    ("12:45", "lunch", "Lunch", "", []),
]

CONFERENCE_2011_PROGRAMME = [
    (
        "09:30-16:30",
        "talk",
        "Speakers and workshops",
        "Workshops throughout the day highlight examples of the innovative multi-agency work "
        "already under way in London.",
        [("Anne Marie Carrie", "Barnardo's"), ("Jo Webber", "NHS Confederation")],
    ),
    (
        "16:45-18:00",
        "ceremony",
        "London Safeguarding Children Awards ceremony",
        "The inaugural London Safeguarding Children Award, the first ever multi-agency award for "
        "best practice in the capital. Four contenders are shortlisted for the main prize and "
        'four for an additional "Emerging Practice" award.\n\n'
        "Judges: Professor Eileen Munro; Julie Jones CBE, Chief Executive of the Social Care "
        "Institute for Excellence; Cheryl Coppell, Chair of the London SCB; and Kay Bell, London "
        "Regional Safeguarding Adviser.",
        [],
    ),
]

EVENTS: list[dict[str, Any]] = [
    {
        **ANNUAL_CONFERENCE,
        "day": "2006-12-15",
        "description": (
            "The LCPC is working to make this a truly multi-agency safeguarding children event. "
            "Last year's delegates came from social services (33%), health (20%), police (12%), "
            "education (9%) and probation (2%).\n\n"
            "The revised London Child Protection Procedures, consulted on in September and "
            "October 2006, are formally launched at the conference."
        ),
    },
    {
        **ANNUAL_CONFERENCE,
        "day": "2007-12-13",
        "description": (
            "The Community Partnership Project Report is launched at the conference.\n\n"
            'A delegate afterwards: "Just a note to congratulate you on an excellent day. '
            "Certainly one of the best we have attended in terms of content and the practical "
            'arrangements."'
        ),
    },
    {**ANNUAL_CONFERENCE, "day": "2008-12-12"},
    {
        **ANNUAL_CONFERENCE,
        "day": "2011-12-05",
        "time": "09:30-18:00",
        "season": "2011",
        "description": (
            "An excellent opportunity to hear from speakers such as Anne Marie Carrie (Chief "
            "Executive at Barnardo's) and Jo Webber (Deputy Policy Director and Children's Policy "
            "Lead for the NHS Confederation), while workshops throughout the day highlight "
            "examples of the innovative multi-agency work already under way in London.\n\n"
            "The London culture and faith practice guidance, training toolkit and LSCB strategy "
            "are launched, and findings from the London pilot of the SCIE methodology for "
            "learning from serious case reviews are shared.\n\n"
            "The conference is followed by the ceremony for the inaugural London Safeguarding "
            "Children Award, from 4.45pm to 6pm."
        ),
        "programme": CONFERENCE_2011_PROGRAMME,
    },
    {
        "slug": "aligning-scrs-and-suis-{year}",
        "title": "Aligning SCRs and SUIs",
        "kind": "mini_conference",
        "day": "2008-02-21",
        "time": "09:00-13:30",
        "venue": "kings",
        "capacity": 120,
        "host": "health-network",
        "season": "2008",
        "notes": "Lunch included.",
        "summary": (
            "A mini-conference of the Health and Mental Health networks on aligning the serious "
            "case review and serious untoward incident processes."
        ),
        "description": (
            "Professionals have difficulties managing the serious case review and serious "
            "untoward incident processes alongside each other when a case requires both. The "
            "two processes have different timescales, reporting formats and method "
            "requirements, all of which increase resources and therefore the cost of the "
            "investigations.\n\n"
            "We start with presentations from two trusts and their LSCB partners who have "
            "already done quite a bit of work to streamline the two processes, then hear from "
            "NHS London about what they expect for both SUIs and SCRs. Delegates then break into "
            "groups to discuss their own experience and local practice, with a view to coming up "
            "with suggestions for better alignment of the two processes. The day could produce a "
            "letter to DH and Ofsted asking them to synchronise the two processes."
        ),
        "programme": MINI_CONFERENCE_PROGRAMME,
    },
    {
        **CSA_SEMINAR,
        "day": "2008-04-09",
        "time": "10:00-12:30",
        "title": "Child sexual abuse seminar: trafficked and sexually exploited children",
    },
    {**CSA_SEMINAR, "day": "2008-07-10", "time": "15:00-17:30"},
    {**CSA_SEMINAR, "day": "2008-09-01", "time": "10:00-12:30"},
    {**CSA_SEMINAR, "day": "2008-10-15", "time": "10:00-12:30"},
    {
        "slug": "domestic-violence-pilots-seminar-day-{year}",
        "title": "Safeguarding children abused through domestic violence: the pilots",
        "kind": "seminar",
        "day": "2008-05-06",
        "time": "09:30-16:00",
        "venue": "london-councils",
        "capacity": 80,
        "season": "2008",
        "summary": (
            "A seminar day for LSCBs to review the emerging findings from the London pilots of "
            "the domestic violence procedure."
        ),
        "description": (
            "Three London boroughs, Barnet, Barking & Dagenham and Hammersmith & Fulham, are "
            "piloting structured multi-agency implementation of the new Safeguarding Children "
            "Abused through Domestic Violence procedure. The pilots are being independently "
            "evaluated by Prof Martin Calder.\n\n"
            "Implementation is due to begin in Waltham Forest, and Sutton and Tower Hamlets have "
            "expressed interest; LSCBs interested in the next round are welcome."
        ),
    },
    {
        "slug": "child-sexual-abuse-conference-{year}",
        "title": "Child Sexual Abuse conference",
        # Kind "conference" is the annual conference alone (its year-on-year statistics).
        "kind": "mini_conference",
        "day": "2008-06-18",
        "time": "09:30-16:30",
        "venue": "british-library",
        "capacity": 250,
        "host": "child-sexual-abuse-subgroup",
        "season": "2008",
        "summary": "The London Board's late spring conference on child sexual abuse.",
        "description": (
            "Organised by the London Board's sexual abuse sub-group, with BASPCAN as co-host. "
            "The sub-group promotes good practice in preventing and treating child sexual abuse "
            "in London and in bringing offenders to account."
        ),
    },
    {
        "slug": "safeguarding-trafficked-children-seminar-{year}",
        "title": "Safeguarding trafficked children",
        "kind": "seminar",
        "day": "2011-11-01",
        "time": "10:00-13:00",
        "venue": "city-hall",
        "capacity": 100,
        "summary": (
            "A joint seminar of the London Board and the GLA to spread the learning from the "
            "London guidance and toolkit on trafficked children and consider next steps."
        ),
        "description": (
            "The guidance document and toolkit to help agencies identify and support trafficked "
            "children were launched in February 2011. Chaired by the Deputy Mayor of London, "
            "Richard Barnes, the session also highlights existing good practice in operation "
            "across the UK."
        ),
    },
    {
        "slug": "london-disturbances-seminar-{year}",
        "title": "London disturbances seminar",
        "kind": "seminar",
        "day": "2011-11-29",
        "time": "10:00-13:00",
        "venue": "london-councils",
        "capacity": 70,
        "season": "2011",
        "notes": "Free places for every London LSCB.",
        "summary": (
            "The London Board and the Metropolitan Police Service share the data and "
            "intelligence gathered in the months following the disturbances."
        ),
        "description": (
            "A joint seminar focused on the role and involvement of children and young people "
            "in the disturbances. Presentations and papers from the event will be posted online "
            "at www.londonscb.gov.uk."
        ),
    },
    {**SAFE_GAMES, **MORNING, "day": "2011-11-28", "season": "2011"},
    {**SAFE_GAMES, **AFTERNOON, "day": "2011-11-28", "season": "2011"},
    {**SAFE_GAMES, **MORNING, "day": "2012-02-17", "season": "2011"},
    {**SAFE_GAMES, **AFTERNOON, "day": "2012-02-17", "season": "2011"},
]


# --------------------------------------------------------------------------- loading


def database_is_empty() -> bool:
    """No events, venues, networks, meetings, bookings or organiser accounts.

    Sectors are reference data and do not count: the demo adds only the ones missing.
    """
    content = (Event, Venue, Network, Meeting, Booking, OrganiserUser)
    return all(db.session.scalar(select(model.id).limit(1)) is None for model in content)


def clear() -> None:
    """Deletes every row of every table, children before parents, in one transaction."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def load(today: date | None = None) -> dict[str, int]:
    """Adds the demo in one transaction; returns what it added, for the command's summary."""
    now = utcnow()
    today = today or london_date(now)
    organiser = OrganiserUser(email=ORGANISER_EMAIL, name="Demo organiser", role=Role.admin)
    organiser.set_password(_organiser_password())
    venues = {
        key: Venue(name=name, address=address, postcode=postcode, directions=directions)
        for key, (name, address, postcode, directions) in VENUES.items()
    }
    networks = {spec["slug"]: _network(spec) for spec in NETWORKS}
    events = [_event(spec, venues, networks) for spec in EVENTS]

    weeks = season_weeks(today)
    opens_at = london_day_bounds(today)[0]
    events += [
        _event(spec, venues, networks, weeks[spec["season"]], opens_at)
        for spec in EVENTS
        if "season" in spec
    ]
    for spec in NETWORKS:
        location = spec.get("location", "")
        networks[spec["slug"]].meetings += [
            _meeting(line, location, weeks["2011"]) for line in _season_meetings(spec)
        ]

    sectors = _missing_sectors()
    db.session.add_all([organiser, *venues.values(), *networks.values(), *events, *sectors])
    db.session.commit()
    from bookings.stats.demo import load_demo_statistics

    return load_demo_statistics() | {
        # Counted afterwards: the statistics add the 2005 conference that holds its figures.
        "events": db.session.scalar(select(func.count(Event.id))),
        "upcoming events": sum(event.starts_at > now for event in events),
        "programme slots": sum(len(event.slots) for event in events),
        "venues": len(venues),
        "networks and sub-groups": len(networks),
        "meetings": sum(len(network.meetings) for network in networks.values()),
        "sectors": len(sectors),
        f"organiser account ({ORGANISER_EMAIL})": 1,
    }


# --------------------------------------------------------------------------- the current season


def weeks_forward(first: date, today: date, lead: timedelta = LEAD_TIME) -> int:
    """The whole number of weeks that moves ``first`` to a day at least ``lead`` after ``today``.

    Whole weeks keep every weekday; rebuilding each instant with ``london_datetime`` from the
    moved London date keeps every wall-clock time, whichever side of a clock change it lands.
    """
    return max(-((first - today - lead).days // 7), 0)


def season_weeks(today: date) -> dict[str, int]:
    """For each copied season, the weeks that bring its first event or meeting ahead of today."""
    firsts: dict[str, date] = {}
    for season, day in _season_days():
        firsts[season] = min(day, firsts.get(season, day))
    return {season: weeks_forward(first, today) for season, first in firsts.items()}


def _season_days() -> Iterator[tuple[str, date]]:
    for spec in EVENTS:
        if "season" in spec:
            yield spec["season"], date.fromisoformat(spec["day"])
    for spec in NETWORKS:
        for line in _season_meetings(spec):
            yield "2011", date.fromisoformat(line[:10])


def _season_meetings(spec: dict[str, Any]) -> list[str]:
    """A network's dated meetings from the start of the 2011/12 season on."""
    return [
        line
        for line in spec["meetings"]
        if line[:1].isdigit() and date.fromisoformat(line[:10]) >= SEASON_2011_FROM
    ]


def _moved(day: date, weeks: int) -> date:
    return day + timedelta(weeks=weeks)


# --------------------------------------------------------------------------- builders


def _organiser_password() -> str:
    password = os.environ.get("DEMO_ORGANISER_PASSWORD") or DEFAULT_ORGANISER_PASSWORD
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(
            f"DEMO_ORGANISER_PASSWORD must have at least {MIN_PASSWORD_LENGTH} characters."
        )
    return password


def _missing_sectors() -> list[Sector]:
    existing = set(db.session.scalars(select(Sector.name)))
    return [
        Sector(name=name, position=position)
        for position, name in enumerate(SECTORS, start=1)
        if name not in existing
    ]


def _at(day: date, span: str) -> tuple[datetime, datetime | None]:
    """London "HH:MM-HH:MM" (or an open-ended "HH:MM") on ``day`` as UTC instants."""
    start, _, end = span.partition("-")
    return (
        london_datetime(day, time.fromisoformat(start)),
        london_datetime(day, time.fromisoformat(end)) if end else None,
    )


def _meeting(line: str, location: str, weeks: int = 0) -> Meeting:
    head, _, note = line.partition("|")
    words = head.split()
    if words[0] == "tbc":
        return Meeting(day=None, status=MeetingStatus.tbc, location=location, note=note.strip())
    status = MeetingStatus.confirmed
    if words[-1] == "prov":
        status = MeetingStatus.provisional
        words.pop()
    day = _moved(date.fromisoformat(words[0]), weeks)
    starts_at, ends_at = _at(day, words[1]) if len(words) > 1 else (None, None)
    return Meeting(
        day=day,
        starts_at=starts_at,
        ends_at=ends_at,
        status=status,
        location=location,
        note=note.strip(),
    )


def _network(spec: dict[str, Any]) -> Network:
    contact = spec.get("contact", spec.get("chair", ""))
    location = spec.get("location", "")
    return Network(
        slug=spec["slug"],
        name=spec["name"],
        chair=spec.get("chair", ""),
        chair_organisation=spec.get("chair_organisation", ""),
        contact_name=contact,
        contact_email=contact.lower().replace(" ", ".") + "@example.org",
        remit=spec["remit"],
        membership=spec.get("membership", ""),
        papers_url=PAPERS + spec["papers"] if "papers" in spec else "",
        default_location=location,
        meetings=[_meeting(line, location) for line in spec["meetings"]],
    )


def _slot(row: tuple, day: date, position: int) -> ProgrammeSlot:
    span, kind, title, description, speakers = row
    starts_at, ends_at = _at(day, span)
    return ProgrammeSlot(
        starts_at=starts_at,
        ends_at=ends_at,
        kind=SlotKind(kind),
        title=title,
        description=description,
        position=position,
        speakers=[
            Speaker(name=name, organisation=organisation, position=n)
            for n, (name, organisation) in enumerate(speakers)
        ],
    )


def _series(spec: dict[str, Any], weeks: int) -> str | None:
    """The series name, with the year in which the (moved) series begins."""
    if "series" not in spec:
        return None
    first = min(date.fromisoformat(s["day"]) for s in EVENTS if s.get("series") == spec["series"])
    return spec["series"].format(year=_moved(first, weeks).year)


def _event(
    spec: dict[str, Any],
    venues: dict[str, Venue],
    networks: dict[str, Network],
    weeks: int = 0,
    opens_at: datetime | None = None,
) -> Event:
    day = _moved(date.fromisoformat(spec["day"]), weeks)
    starts_at, ends_at = _at(day, spec["time"])
    return Event(
        slug=spec["slug"].format(year=day.year, date=day.isoformat()),
        title=spec["title"],
        kind=EventKind(spec["kind"]),
        status=EventStatus.published,
        summary=spec["summary"],
        description=spec.get("description", ""),
        notes=spec.get("notes", ""),
        venue=venues[spec["venue"]],
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=spec["capacity"],
        booking_opens_at=opens_at or london_datetime(day - timedelta(weeks=8), time(9)),
        booking_closes_at=london_datetime(day - timedelta(days=1), time(17)),
        series=_series(spec, weeks),
        host_network=networks.get(spec.get("host", "")),
        slots=[_slot(row, day, n) for n, row in enumerate(spec.get("programme", []))],
    )
