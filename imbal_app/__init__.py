"""Streamlit glue for the imbal dashboard: data loading and shared state. The analyses are in imbal_core."""
