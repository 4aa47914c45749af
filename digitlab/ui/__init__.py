"""Streamlit pages and their helpers: the only part of DigitLab that imports streamlit."""
