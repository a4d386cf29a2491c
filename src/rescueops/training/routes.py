"""The training API (/api/v1/training/…) and the public certificate check."""

from __future__ import annotations

# --- courses, sessions, enrolment, attendance ---
# --- end of courses, sessions, enrolment, attendance ---

# --- exams and certificates ---
# --- end of exams and certificates ---

# --- instructors, examiners, bases and bookings ---
# --- end of instructors, examiners, bases and bookings ---

# --- targets and progress ---
# --- end of targets and progress ---

# Registered by app.py; each part adds its controllers and public handlers here.
CONTROLLERS: list = []
