"""Password policy beyond Django's validators: classes of characters (等保 level 2)."""

from __future__ import annotations

import string
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_noop

# Names marked for translation here and translated when the rule is shown (the page's language).
CHARACTER_CLASSES = (
    (gettext_noop("小写字母"), frozenset(string.ascii_lowercase)),
    (gettext_noop("大写字母"), frozenset(string.ascii_uppercase)),
    (gettext_noop("数字"), frozenset(string.digits)),
    (gettext_noop("符号"), frozenset(string.punctuation)),
)


def character_classes(password: str) -> int:
    """How many of the four classes (lower, upper, digit, symbol) the password uses."""
    return sum(1 for _, chars in CHARACTER_CLASSES if any(c in chars for c in password))


class CharacterClassValidator:
    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user: Any = None) -> None:
        if character_classes(password) < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self) -> str:
        names = gettext("、").join(gettext(name) for name, _ in CHARACTER_CLASSES)
        return gettext("密码至少要包含%(names)s中的 %(count)d 类字符。") % {"names": names, "count": self.min_classes}
