"""Domain errors that handlers turn into ephemeral replies or inline modal errors."""


class MentorCoachError(Exception):
    """Something the acting person can fix; `str(error)` is written for them."""


class InvalidInput(MentorCoachError):
    """Form input that fails validation; `errors` maps block ids to friendly messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class AlreadyDone(MentorCoachError):
    """The same submission arrived again (a double click, a retried request); it was done once."""


class NotAPerson(MentorCoachError):
    """A mention that is not someone we can act on: unknown here, an app, or deactivated."""


class NotAnAdmin(MentorCoachError):
    """An admin command or button used by someone who is not a program admin; nothing ran."""
