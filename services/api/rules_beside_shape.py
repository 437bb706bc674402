"""Rule errors told beside a body's shape errors.

A body is checked in two stages: its shape (pydantic), then the service's rules, which need the whole of it. A body
that failed its shape was told nothing of its rules, so its sender fixed one mistake and learnt of the next only
when sending again (for a broker, an import file fixed twice). Models whose rules can be judged on one raw value
(an ID number, a phone, a county code) judge those when, and only when, the shape fails, and add their errors to
the shape's: a valid body, or import row, is not checked twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from matching.regions import load_regions
from services.api.regions.service import area_problem, county_problem

Model = TypeVar("Model")
# The rules a model judges on raw values: (the raw body, the fields its shape errors already name) → errors.
RawRules = Callable[[Mapping[str, Any], set[str]], list[InitErrorDetails]]


def validate_with_rules(data: Any, handler: Callable[[Any], Model], rules: RawRules) -> Model:
    """The body of a model's wrap validator: `handler(data)`, and when that fails its shape, `rules` judged on the raw
    body, their errors added to the shape's."""
    try:
        return handler(data)
    except ValidationError as exc:
        if not isinstance(data, Mapping):
            raise
        found = rules(data, fields_reported(exc))
        if not found:
            raise
        raise with_rule_errors(exc, found) from None


def rule_error(loc: tuple[str | int, ...], value: Any, message: str) -> InitErrorDetails:
    return {"type": "value_error", "loc": loc, "input": value, "ctx": {"error": ValueError(message)}}


def with_rule_errors(exc: ValidationError, rules: list[InitErrorDetails]) -> ValidationError:
    """`exc` with `rules` after its own errors (rebuilt as custom errors of the same type, message and context:
    what the API and the importer read)."""
    shape: list[InitErrorDetails] = [
        {"type": PydanticCustomError(e["type"], e["msg"], e.get("ctx")), "loc": e["loc"], "input": e["input"]}
        for e in exc.errors()]
    return ValidationError.from_exception_data(exc.title, [*shape, *rules])


def fields_reported(exc: ValidationError) -> set[str]:
    """The top-level fields the shape's errors name (their own rules are not judged again)."""
    return {str(error["loc"][0]) for error in exc.errors() if error["loc"]}


def place_errors(data: Mapping[str, Any], reported: set[str], *, counties: tuple[str, ...] = (),
                 areas: tuple[str, ...] = ()) -> list[InitErrorDetails]:
    """Errors of the raw county fields `counties` (one adcode each) and area lists `areas` (adcodes of any level)
    not already reported, as the services word them (services/api/regions/service.py)."""
    regions = load_regions()
    errors: list[InitErrorDetails] = []
    for field in counties:
        value = data.get(field)
        if field not in reported and isinstance(value, str) and (problem := county_problem(value, regions)):
            errors.append(rule_error((field,), value, problem))
    for field in areas:
        values = data.get(field)
        if field in reported or not isinstance(values, list):
            continue
        for i, value in enumerate(values):
            if isinstance(value, str) and (problem := area_problem(value, regions)):
                errors.append(rule_error((field, i), value, problem))
    return errors
