"""The model of wards, links, devices and platforms; loading, validation, the ward list."""

from inventory.load import DEFAULT_INVENTORY, load_inventory
from inventory.model import Inventory, Thresholds, Ward
from inventory.yamlfile import ConfigError

__all__ = ["DEFAULT_INVENTORY", "ConfigError", "Inventory", "Thresholds", "Ward", "load_inventory"]
