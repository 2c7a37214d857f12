import csv
from collections.abc import Iterable

from django.http import HttpResponse

# Cells a spreadsheet would run as a formula; prefixed with ' so they stay text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    # Phone numbers start with + but are data, not formulas.
    if text.startswith(FORMULA_START) and not text[1:].replace(" ", "").isdigit():
        return "'" + text
    return text


def csv_response(filename: str, header: list[str], rows: Iterable) -> HttpResponse:
    """A CSV download, built inside the request's transaction (the tenant scope ends with it)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return response
