"""The school survey (调查表) import: one spreadsheet row per teaching class.

It creates and updates the regions, schools and teaching classes of the city or county the
survey covers, all or nothing. Each step has its module:

- rules   — pure decisions about a header, a cell or a class, with the Chinese message a
            bureau clerk needs to fix the sheet (tested without a database);
- parse   — stream the workbook's rows with python-calamine into compact validated tuples;
- plan    — match them with the regions, schools and classes already stored;
- service — import_survey: check, count and write in one transaction, audited once;
- write   — the multi-row INSERT/UPDATE helpers the service writes with;
- report  — each error placed at its Excel row and column, and the error workbook.

The names below are the package's public face; new code may import from the modules.
"""

from banbantong.org.survey.parse import (
    EMPTY_WORKBOOK,
    NO_HEADER,
    NOT_EXCEL,
    ClassEntry,
    NullProgress,
    ParsedSurvey,
    Progress,
    parse_survey,
)
from banbantong.org.survey.report import ERROR_HEADERS, RowError, error_rows, error_sheet, write_error_report
from banbantong.org.survey.rules import (
    COLUMN_TITLES,
    MAX_PUPILS,
    CellError,
    StoredClass,
    find_header,
    first_status,
    guess_region_level,
    is_total_row,
    match_header,
    parse_built_year,
    parse_class_name,
    parse_grade_cell,
    parse_kind,
    parse_pupils,
    parse_status,
    updated_class,
)
from banbantong.org.survey.service import SurveyInvalid, SurveyResult, check_can_import, import_survey

__all__ = [
    "COLUMN_TITLES",
    "EMPTY_WORKBOOK",
    "ERROR_HEADERS",
    "MAX_PUPILS",
    "NOT_EXCEL",
    "NO_HEADER",
    "CellError",
    "ClassEntry",
    "NullProgress",
    "ParsedSurvey",
    "Progress",
    "RowError",
    "StoredClass",
    "SurveyInvalid",
    "SurveyResult",
    "check_can_import",
    "error_rows",
    "error_sheet",
    "find_header",
    "first_status",
    "guess_region_level",
    "import_survey",
    "is_total_row",
    "match_header",
    "parse_built_year",
    "parse_class_name",
    "parse_grade_cell",
    "parse_kind",
    "parse_pupils",
    "parse_status",
    "parse_survey",
    "updated_class",
    "write_error_report",
]
