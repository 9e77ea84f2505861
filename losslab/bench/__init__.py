"""`losslab bench`: LossLab's speed next to a plain torch loop, event-loop lateness, plot redraw, start-up.

Run ``losslab bench [--quick] [--json FILE]``; see runner.py for the order of measurements and
report.py for the JSON document's figures. Modules here import nothing heavy at import time.
"""
