"""Turn library errors into one readable line that names the field at fault."""

from __future__ import annotations

from pydantic import ValidationError


def format_validation_error(err: ValidationError) -> str:
    """One clause per problem, each naming the dotted field path (``llm.config: ...``)."""
    clauses = []
    for problem in err.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        clauses.append(f"{where}: {problem['msg']}")
    return "; ".join(clauses)
