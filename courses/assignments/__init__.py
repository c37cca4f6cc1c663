"""Who must take what by when: assignment rules, staff import, reminders and escalations, overrides."""
