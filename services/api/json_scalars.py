"""Numbers and yes/no in a JSON request body: taken as JSON writes them, never converted from another type.

pydantic's default (lax) mode converts: `"experience_years": false` was stored as 0, `"sms_to_workers": 0` as
false, `"headcount": "12"` as 12, `1.0` as 1 and `"true"` as true. A client that sends a boolean where a number
belongs, or a number as text, has a bug it should be told about (422 naming the field), not a value it did not
mean. So the request models declare these fields with the types below instead of `int`, `float` and `bool`:

- `JsonInt`: a JSON integer (not `true`, not `"12"`, not `12.0`);
- `JsonFloat`: a JSON number, an integer included (`5000` for a wage is a number; `true` and `"5000"` are not);
- `JsonBool`: `true` or `false` (not `0`/`1`, not `"true"`).

Only these scalars are strict: dates and times stay ISO 8601 text (JSON has no date type; `calendar_window.py`
keeps numbers out of them), UUIDs stay text, choices (`Literal`) already refuse other types.

The same models validate bulk import rows (`imports/mapping.py`). A CSV or XLSX cell reaches them already
converted by the column's field type (是/否, 1/0, Y/N → a bool; "5000元", "3.0", a number cell → a number, an
integral one as an int), so strictness changes nothing there. An NDJSON line is the body the single-record API
takes and is read as JSON, so it is as strict as the API: the same line posted or imported gets the same answer.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Strict

JsonInt = Annotated[int, Strict()]
JsonFloat = Annotated[float, Strict()]
JsonBool = Annotated[bool, Strict()]
