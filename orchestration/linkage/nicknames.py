"""Common English nicknames and the formal given names they stand for."""

NICKNAMES: dict[str, str] = {
    "AL": "ALAN", "ALEX": "ALEXANDER", "ANDY": "ANDREW", "DREW": "ANDREW", "TONY": "ANTHONY",
    "BEN": "BENJAMIN", "BENNY": "BENJAMIN", "BOB": "ROBERT", "BOBBY": "ROBERT",
    "ROB": "ROBERT", "ROBBIE": "ROBERT", "BILL": "WILLIAM", "BILLY": "WILLIAM",
    "WILL": "WILLIAM", "LIAM": "WILLIAM", "CHRIS": "CHRISTOPHER", "KIT": "CHRISTOPHER",
    "DAN": "DANIEL", "DANNY": "DANIEL", "DAVE": "DAVID", "DAVY": "DAVID", "DICK": "RICHARD",
    "RICH": "RICHARD", "RICHIE": "RICHARD", "RICK": "RICHARD", "ED": "EDWARD",
    "EDDIE": "EDWARD", "TED": "EDWARD", "NED": "EDWARD", "FRED": "FREDERICK",
    "FREDDIE": "FREDERICK", "GREG": "GREGORY", "HARRY": "HENRY", "HAL": "HENRY",
    "JIM": "JAMES", "JIMMY": "JAMES", "JAMIE": "JAMES", "JON": "JONATHAN",
    "JOHNNY": "JOHN", "JACK": "JOHN", "JOE": "JOSEPH", "JOEY": "JOSEPH", "KEN": "KENNETH",
    "LARRY": "LAWRENCE", "LEN": "LEONARD", "MATT": "MATTHEW", "MIKE": "MICHAEL",
    "MICK": "MICHAEL", "MICKY": "MICHAEL", "NICK": "NICHOLAS", "NICKY": "NICHOLAS",
    "PAT": "PATRICIA", "PETE": "PETER", "PHIL": "PHILIP", "RAY": "RAYMOND", "RON": "RONALD",
    "SAM": "SAMUEL", "SAMMY": "SAMUEL", "STEVE": "STEPHEN", "STEVIE": "STEPHEN",
    "STU": "STUART", "TOM": "THOMAS", "TOMMY": "THOMAS", "TIM": "TIMOTHY",
    "ABBY": "ABIGAIL", "ALI": "ALISON", "BECKY": "REBECCA", "BECCA": "REBECCA",
    "BETH": "ELIZABETH", "BETTY": "ELIZABETH", "LIZ": "ELIZABETH", "LIZZIE": "ELIZABETH",
    "ELIZA": "ELIZABETH", "CATH": "CATHERINE", "CATHY": "CATHERINE", "KATE": "KATHERINE",
    "KATIE": "KATHERINE", "KATHY": "KATHERINE", "KAT": "KATHERINE", "CHARLIE": "CHARLOTTE",
    "LOTTIE": "CHARLOTTE", "DEBBIE": "DEBORAH", "DEB": "DEBORAH", "JENNY": "JENNIFER",
    "JEN": "JENNIFER", "JESS": "JESSICA", "JESSIE": "JESSICA", "MAGGIE": "MARGARET",
    "MEG": "MARGARET", "PEGGY": "MARGARET", "MANDY": "AMANDA", "SUE": "SUSAN",
    "SUZY": "SUSAN", "VICKY": "VICTORIA", "VICKI": "VICTORIA", "TORI": "VICTORIA",
    "MANDA": "AMANDA", "NICKI": "NICOLA", "STEPH": "STEPHANIE", "JO": "JOANNE",
    "GABBY": "GABRIELLE", "ELLIE": "ELEANOR", "NELL": "ELEANOR", "FRAN": "FRANCES",
    "MOLLY": "MARY", "POLLY": "MARY", "SALLY": "SARAH", "TRISH": "PATRICIA",
}  # fmt: skip
"""Common English nicknames and the formal given name each stands for. Names with more than
one formal form (Sam: Samuel or Samantha) map to one of them: what matters is that a
nickname and its formal name meet on the same value, not which."""
