"""The password policy: long enough and not easily guessed (zxcvbn's estimate, which also counts words of
the email address as easy)."""

from zxcvbn import zxcvbn

from labellight.services.errors import InvalidInput

MIN_LENGTH = 8
MIN_SCORE = 2
"""zxcvbn's 0-4 scale; 2 = about 10^8 guesses or more, out of reach of online guessing under throttling."""


def check_password(password: str, email: str) -> None:
    """Raise InvalidInput saying what to change when ``password`` does not meet the policy."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"the password must be at least {MIN_LENGTH} characters long")
    estimate = zxcvbn(password[:200], user_inputs=[email, email.split("@", 1)[0]])  # its cost grows with the length
    if estimate["score"] < MIN_SCORE:
        feedback = estimate["feedback"]
        hints = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
        raise InvalidInput(f"the password is too easy to guess. {hints}".strip())
