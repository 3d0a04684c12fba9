"""imbal dashboard: navigation, the sidebar's data source, and the pages (discovered from views/)."""
import streamlit as st

from imbal_app import loader
from imbal_app.pages import discover

st.set_page_config(page_title="imbal — per-class dataset health", page_icon="⚖️", layout="wide")

sections: dict[str, list] = {}
for spec in discover():
    sections.setdefault(spec.section, []).append(
        st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.path == "views/overview.py")
    )

st.logo("assets/logo.svg", size="large")
navigation = st.navigation(sections)
loader.sidebar()
navigation.run()
