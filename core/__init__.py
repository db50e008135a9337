"""The ground floor: settings, domain errors and metrics, imported by every other room.

Nothing here imports another package of this project."""
