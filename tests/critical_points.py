"""The life-critical points of the course (issues 5, 16, 23 and 24), written once for the content lint
and the exam pool lint: each point is keyword groups (regular expressions) that must all match the text
of one critical item. Each point needs at least two such items of at least two types, so a learner
cannot pass on one memorised format."""

CRITICAL_POINTS = {
    "call emergency services (911)": (r"\b911\b|emergency (services|medical|number|call)|\bEMS\b",),
    "naloxone re-dosing": (r"naloxone", r"repeat|re-?dos|second dose|another dose|next dose|new device"),
    "naloxone wears off": (r"naloxone", r"wear(s|ing)? off"),
    "naloxone does not reverse benzodiazepines or xylazine": (
        r"benzodiazepine|xylazine",
        r"(not|n't|never|cannot|no) (\w+ ){0,3}revers",
    ),
    "recovery position": (r"recovery position",),
    "stay with the person": (r"\bstay(s|ing)? with\b",),
    "alcohol or benzodiazepine withdrawal can kill (seizures)": (
        r"withdrawal",
        r"seizure|can kill|kills|fatal|death|die\b|life-threatening",
    ),
    "no breathing: rescue breaths or CPR before the recovery position": (
        r"\bCPR\b|rescue breath",
        r"not breathing|gasp",
    ),
    "stimulant emergency: call 911 and cool an overheated person": (
        r"stimulant|cocaine|methamphetamine",
        r"\bcool(ing)?\b",
        r"\b911\b",
    ),
    "never hold a person face down or put weight on the back or chest": (
        r"face[ -]down",
        r"\bhold|restrain|weight",
    ),
    "methadone start-up: growing sleepiness is reported before the next dose": (
        r"methadone",
        r"builds? up|first days|start of",
        r"sleep|drows|harder to wake",
    ),
    "fear of fentanyl exposure never delays the rescue": (r"fentanyl", r"skin|powder|exposure"),
}


# The module quizzes (formative) must put every point in front of every learner. For three points they
# drill another side of it than the exam asks (the lessons' wording), and one point is examined only in
# the final: written here, next to the points, so the difference is a decision and not a drift.
MODULE_QUIZ_WORDING = {
    "stimulant emergency: call 911 and cool an overheated person": (
        r"stimulant|methamphetamine|cocaine|\bmeth\b",
        r"\bcool|calm|quiet|safe distance",
    ),
    "never hold a person face down or put weight on the back or chest": (
        r"face down|face-down|prone|weight on (his|her|their|the) (back|chest)",
        r"hold|restrain|suffocat|asphyxia",
    ),
    "methadone start-up: growing sleepiness is reported before the next dose": (
        r"methadone",
        r"first (days|weeks|two weeks|week)|builds? up|start(ed|ing)? methadone",
        r"sleep|drows|sedat|nod",
    ),
}
EXAM_ONLY = {
    "fear of fentanyl exposure never delays the rescue": "added with the exam pool (issue 24); the module "
    "quizzes do not draw it yet",
}


def module_quiz_points() -> dict[str, tuple[str, ...]]:
    """The points every learner's module quizzes must cover, each with the patterns its items match."""
    return {
        point: MODULE_QUIZ_WORDING.get(point, patterns)
        for point, patterns in CRITICAL_POINTS.items()
        if point not in EXAM_ONLY
    }
