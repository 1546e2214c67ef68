"""Guidance: the mission manager and manoeuvre planning (phasing, passively safe approach,
fly-around, departure), keep-out and passive-safety checks, collision avoidance."""
