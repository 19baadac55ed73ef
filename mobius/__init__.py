"""Mobius Gateway: one GraphQL graph over many external services."""

from clients._native import select
from mobius.metric_values import use_kept_process_id

select()  # before any compiled module is imported
use_kept_process_id()  # before any metric is declared

__version__ = "0.1.0"
