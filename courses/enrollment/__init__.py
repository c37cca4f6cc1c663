"""Enrollments and progress: enrol, read lessons, take the course's quizzes, skill sign-offs, outlines."""
