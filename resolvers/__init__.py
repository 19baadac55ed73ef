"""Resolvers and the per-request dataloaders they use. Returns upstream models; schema/ maps them."""

from clients._native import select

select()  # before any compiled module is imported
