"""Recipes: strict YAML -> typed, validated sections, checked before anything loads."""
