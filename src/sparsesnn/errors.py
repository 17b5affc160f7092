"""Exceptions with messages that name the problem."""


class ConfigError(ValueError):
    """A configuration field has a bad value; the message names the field and what is allowed."""


class DatasetError(ValueError):
    """A dataset file is malformed or truncated."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file is missing and cannot be downloaded."""


class ChecksumError(DatasetError):
    """A dataset file's SHA-256 differs from the published one."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing, truncated or unreadable."""
