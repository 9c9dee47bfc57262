"""ccconsole: a terminal admin console for the contacts of a CommunityConnect workspace."""

__version__ = "0.1.0"
