"""Schedules: functions of the step count returning a hyperparameter value."""
