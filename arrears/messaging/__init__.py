"""Reminder messages: segment counting, content and rendering (pure), and the dispatch rules."""
