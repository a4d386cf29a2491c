"""Training pages (/training/…) and the public certificate verification page (/verify/…)."""

from __future__ import annotations

# --- courses, sessions, enrolment, attendance ---
# --- end of courses, sessions, enrolment, attendance ---

# --- exams and certificates ---
# --- end of exams and certificates ---

# --- instructors, examiners, bases and bookings ---
# --- end of instructors, examiners, bases and bookings ---

# --- targets and progress ---
# --- end of targets and progress ---

# Registered by app.py; each part adds its page controllers here.
PAGES: list = []
