"""Transient absorption spectroscopy: TA maps, corrections, kinetics, injection, bleach shift."""
