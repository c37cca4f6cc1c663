"""Courses, versions and their content: the loader, publishing, clinical updates, question exchange."""
