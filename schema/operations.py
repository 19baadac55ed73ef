"""Documents as execution receives them: parsed once, validated once, their operations indexed.

``Documents`` keeps the verdict for each document text in a bounded LRU: the parsed document (or
its syntax error) and its validation errors, every error already carrying its
``extensions.code``. The operation limits (``schema.complexity``) are measured first: a document
over them is refused without running the specification's rules. Picking the operation to run
(``operationName``) is answered from the same entry. Documents that reach the schema outside the
HTTP path (over a WebSocket) go through the same entries (``PreparedDocuments``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from graphql import DocumentNode, FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, parse
from graphql.execution.collect_fields import FragmentDetails
from strawberry.extensions import SchemaExtension

from schema.complexity import Complexity
from schema.documents import DocumentValidation
from schema.entities import Representations

DOCUMENT_CACHE_SIZE = 256
"""Distinct document texts kept parsed and validated (per process)."""

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
MAX_NAME_SHOWN = 100
"""An operation name is the client's text: messages quote at most this much of it."""


@dataclass(frozen=True, slots=True, eq=False)
class DocumentExecution:
    """What executing a document needs that graphql-core's ``ExecutionContext.build`` would find
    afresh on every request, kept with the prepared document and living as long as it does
    (``mobius.execution_setup``): its fragments, found with the document, and what each of its
    operations' execution contexts hold alike, taken from the operation's first run."""

    definitions: dict[str, FragmentDefinitionNode]
    details: dict[str, FragmentDetails]
    operations: dict[int, tuple[object, Any]] = field(default_factory=dict)
    """By the identity of an operation node of the document: the execution set-up that ran it and
    what it keeps of it (``schema.execution_state.OperationState``)."""


def execution_of(document: DocumentNode) -> DocumentExecution | None:
    """What executing the document needs, its fragments found; ``None`` when one declares
    variables (an experimental syntax whose signatures ``build`` checks)."""
    definitions: dict[str, FragmentDefinitionNode] = {}
    details: dict[str, FragmentDetails] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions:
                return None
            definitions[definition.name.value] = definition
            details[definition.name.value] = FragmentDetails(definition, None)
    return DocumentExecution(definitions, details)


@dataclass(frozen=True, slots=True, eq=False)
class PreparedDocument:
    document: DocumentNode | None
    """``None`` when the text does not parse."""
    errors: tuple[GraphQLError, ...]
    """Syntax or validation errors: the document must not run."""
    operations: Mapping[str, OperationDefinitionNode] = field(default_factory=dict)
    """The named operations."""
    only: OperationDefinitionNode | None = None
    """The document's operation when it holds exactly one."""
    count: int = 0
    """How many operations the document holds (named or not)."""
    variable_cost: Mapping[int, OperationDefinitionNode] = field(default_factory=dict)
    """Operations (by ``id``) whose cost is measured per request, with its variables."""
    execution: DocumentExecution | None = None
    """What executing a valid document needs (``execution_of``)."""

    def operation(self, name: str | None) -> OperationDefinitionNode | GraphQLError:
        """The operation ``name`` selects, or the request error explaining why there is none."""
        if name is not None:
            found = self.operations.get(name)
            if found is None:
                shown = name if len(name) <= MAX_NAME_SHOWN else name[:MAX_NAME_SHOWN] + "..."
                return coded(GraphQLError(f"Unknown operation named '{shown}'."), OPERATION_RESOLUTION_FAILURE)
            return found
        if self.only is not None:
            return self.only
        if self.count > 1:
            message = "Must provide operation name if query contains multiple operations."
        else:
            message = "Must provide an operation."
        return coded(GraphQLError(message), OPERATION_RESOLUTION_FAILURE)


def coded(error: GraphQLError, code: str) -> GraphQLError:
    """``error`` with ``extensions.code`` (kept if it has one) and no original error: a request
    error is the client's, never a fault to trace."""
    if error.extensions and "code" in error.extensions and error.original_error is None:
        return error
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )


CostRecheck = Callable[[Mapping[str, Any]], GraphQLError | None]
"""An operation's cost refusal for a request's coerced variables, if any."""


class Documents:
    def __init__(
        self,
        validate: DocumentValidation,
        *,
        max_tokens: int,
        complexity: Complexity | None = None,
        size: int = DOCUMENT_CACHE_SIZE,
    ) -> None:
        self.validate = validate
        self.max_tokens = max_tokens
        self.complexity = complexity
        self.size = size
        self._prepared: OrderedDict[str, PreparedDocument] = OrderedDict()

    def prepare(self, text: str) -> PreparedDocument:
        prepared = self._prepared.get(text)
        if prepared is not None:
            self._prepared.move_to_end(text)
            return prepared
        prepared = self._prepared[text] = self._prepare(text)
        if len(self._prepared) > self.size:
            self._prepared.popitem(last=False)
        return prepared

    def _prepare(self, text: str) -> PreparedDocument:
        try:
            document = parse(text, max_tokens=self.max_tokens)
        except GraphQLError as error:
            return PreparedDocument(None, (coded(error, PARSE_FAILED),))
        variable_cost: Mapping[int, OperationDefinitionNode] = {}
        if self.complexity is not None:
            measured = self.complexity.measure(document)
            if measured.errors:
                return PreparedDocument(document, measured.errors)
            variable_cost = measured.variable
        errors = tuple(coded(error, VALIDATION_FAILED) for error in self.validate(document))
        operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
        named = {node.name.value: node for node in operations if node.name is not None}
        only = operations[0] if len(operations) == 1 else None
        execution = None if errors else execution_of(document)
        return PreparedDocument(document, errors, named, only, len(operations), variable_cost, execution)

    def cost_recheck(self, prepared: PreparedDocument, operation: OperationDefinitionNode) -> CostRecheck | None:
        """What a request running ``operation`` must check once its variables are coerced."""
        if self.complexity is None or prepared.document is None or id(operation) not in prepared.variable_cost:
            return None
        return partial(self.complexity.cost_error, prepared.document, operation)


class PreparedDocuments(SchemaExtension):
    """Strawberry's parse and validation steps answered from ``Documents`` (for the operations
    Strawberry runs itself: those sent over a WebSocket), and the checks of ``_entities``
    representations the HTTP path makes."""

    def __init__(self, documents: Documents, representations: Representations) -> None:
        super().__init__()
        self.documents = documents
        self.representations = representations
        self._errors: Sequence[GraphQLError] = ()

    def on_parse(self) -> Iterator[None]:
        """A text that does not parse is left to Strawberry's own parse (with the same token limit),
        which reports the syntax error as its protocol expects."""
        context = self.execution_context
        if context.query:
            prepared = self.documents.prepare(context.query)
            context.graphql_document = prepared.document
            context.parse_options["max_tokens"] = self.documents.max_tokens
            self._errors = prepared.errors or self._cost_errors(prepared) or self._representation_errors(prepared)
        yield

    def _cost_errors(self, prepared: PreparedDocument) -> tuple[GraphQLError, ...]:
        """A cost sized by variables, measured with the variables as sent (Strawberry coerces them
        later: an integer or a list counts as it will once coerced)."""
        context = self.execution_context
        operation = prepared.operation(context.operation_name)
        if isinstance(operation, GraphQLError):
            return ()
        recheck = self.documents.cost_recheck(prepared, operation)
        too_costly = recheck(context.variables or {}) if recheck is not None else None
        return () if too_costly is None else (too_costly,)

    def _representation_errors(self, prepared: PreparedDocument) -> tuple[GraphQLError, ...]:
        context = self.execution_context
        operation = prepared.operation(context.operation_name)
        if isinstance(operation, GraphQLError) or prepared.document is None or not context.query:
            return ()
        error = self.representations.raw_operation_error(
            context.query, prepared.document, operation, context.variables or {}
        )
        return () if error is None else (error,)

    def on_validate(self) -> Iterator[None]:
        self.execution_context.pre_execution_errors = list(self._errors)
        yield
