"""Templates: email, text message and letter templates, with every version kept."""
