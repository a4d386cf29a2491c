"""Grading (分级测评): rubrics as versioned data, evaluation from live records, the assessment workflow, readiness."""
