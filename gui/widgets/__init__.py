"""Qt widgets: one control per file, each binding a state object or a model to the screen."""
