"""The config repository on disk: parse and validate its YAML into a ``Config``."""

from adapters.configrepo.loader import API_VERSION, load_config
from domain.config.model import ConfigError, ConfigInvalidError

__all__ = ["API_VERSION", "ConfigError", "ConfigInvalidError", "load_config"]
