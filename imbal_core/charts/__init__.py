"""Chart builders: pure functions from analysis results to plotly figures, one module per view.

They never read files or session state and never call streamlit, so tests check their data
directly (``fig.data[0].x``) without a browser.
"""
