"""Plotly figures: pure functions returning go.Figure (no Streamlit)."""
