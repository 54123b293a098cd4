"""Domain errors whose messages a person can act on.

Adapters wrap third-party exceptions in these (`raise ... from e`); the CLI prints the message
and exits non-zero, the app shows it with `st.error`.
"""

from __future__ import annotations


class KBError(Exception):
    """Base of every error AnswerDesk reports to a person."""


class ConfigError(KBError):
    """A setting is missing or has a value we cannot use."""


class ModelNotInstalledError(KBError):
    """The embedding model's package is not installed; the message names the package."""


class DocumentError(KBError):
    """A file cannot be ingested. `reason` is the short text shown in the ingest report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedFormatError(DocumentError):
    pass


class EncryptedDocumentError(DocumentError):
    pass


class CorruptDocumentError(DocumentError):
    pass


class EmptyDocumentError(DocumentError):
    pass


class FileTooLargeError(DocumentError):
    pass


class DocumentNotFoundError(KBError):
    pass


class QuestionTooLongError(KBError):
    """A question over the length limit (Settings.question_max_chars): refused, not cut."""


class InvalidTextError(KBError):
    """Input that is not text: a lone surrogate, or bytes that are not UTF-8 (kb.text)."""


class KnowledgeBaseBusyError(KBError):
    """Another ingest holds the knowledge-base lock for longer than we are willing to wait."""
