"""Primitive ops by family; each is a ``Function`` subclass with forward and backward."""
