"""Request and response models of first-aid training (API and pages share them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field  # noqa: F401

# --- courses, sessions, enrolment, attendance ---
# --- end of courses, sessions, enrolment, attendance ---

# --- exams and certificates ---
# --- end of exams and certificates ---

# --- instructors, examiners, bases and bookings ---
# --- end of instructors, examiners, bases and bookings ---

# --- targets and progress ---
# --- end of targets and progress ---
