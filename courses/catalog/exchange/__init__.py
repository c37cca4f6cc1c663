"""Question exchange with Moodle (GIFT, Moodle XML) and spreadsheets (CSV).

Parsers and writers here are pure (no ORM): a parser turns a file into `ImportedQuestion`s, each with
our question spec (the shape of a YAML bank, see quizzes/specs.py) or the reason it was refused; a
writer turns specs into a file Moodle imports. `services.import_questions` writes, `export` reads.
See docs/question-exchange.md for the mapping of types in each format.
"""
