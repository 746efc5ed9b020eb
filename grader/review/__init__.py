"""What only a person can decide: answer groups from the gradebook (queue.py) and a local page to decide them (app.py)."""
