"""Transforms that are not Python functions: external commands (any language)."""
