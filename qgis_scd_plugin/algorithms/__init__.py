"""The provider's Processing algorithms."""
