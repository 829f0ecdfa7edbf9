"""Inbound text messages: the numbers services receive on, and the messages people send to them."""
