"""The built-in job kinds, written against the job kind API (imagecache.jobs) as any job package is: Kentik's
API (kentik.py) and a chart drawn locally (chart.py, drawn by chart_drawing.py)."""
