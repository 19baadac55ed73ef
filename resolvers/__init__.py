"""Resolvers and the per-request dataloaders they use. Returns upstream models; schema/ maps them."""
