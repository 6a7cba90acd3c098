"""Which text follows the reader's language and which stays Chinese.

Pages follow the language switch. What is filed or stored does not: Excel exports and printed
PDFs are documents handed to bureaus, the API is read by programs that match on its labels, and
text written to the database (audit entries, device history) must read the same to everyone.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy

API_PREFIX = "/api/"
DOCUMENT_SUFFIXES = (".xlsx", ".pdf")


def gettext_lazy_str(message: str) -> str:
    """gettext_lazy typed as the str it stands in for.

    For choice labels that other apps read as plain text (dict(School.Kind.choices) used as
    names and keys): the lazy string formats, hashes and compares as its text in the active
    language. Imported as `_` so that makemessages finds the strings.
    """
    return cast(str, gettext_lazy(message))


def chinese(text: Any) -> str:
    """A lazy label (a choice's `.label`, a gettext_lazy string) as the platform's Chinese."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)


def is_document_request(request: HttpRequest) -> bool:
    """An Excel export, a PDF or an API call: answered in Chinese whatever the switch says."""
    path = request.path_info
    return (
        request.GET.get("export") == "xlsx"
        or path.startswith(API_PREFIX)
        or path.endswith(DOCUMENT_SUFFIXES)
    )
