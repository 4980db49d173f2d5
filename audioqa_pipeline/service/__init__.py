"""The reference generation service: the reference pipeline served over HTTP the way deployed
song generators are (DiffRhythm-style FastAPI routes, ACE-Step-1.5-style routes, a Gradio app),
with service faults chosen at start. ``audio-qa serve`` runs it; ``audio-qa probe`` checks it."""
