"""Errors that end a stage with a clear, one-paragraph message instead of a traceback."""

from __future__ import annotations


class LighthouseError(Exception):
    """A user-facing error: the message names the file, field or column, the rule and the value."""


class ConfigError(LighthouseError):
    """A configuration file (contract, params) is missing, unreadable or invalid."""


class DataValidationError(LighthouseError):
    """The data broke the contract."""
