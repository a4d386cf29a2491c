"""Drills (训练/演练): the scenario library, planning, attendance, live conduct, evaluation and after-action reports."""
