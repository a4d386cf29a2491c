"""Scheduled jobs (APScheduler 3.x): every process may run the schedule; each run is claimed once."""
