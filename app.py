"""imbal dashboard: navigation, the sidebar's data source, and the pages."""
import streamlit as st

from imbal_app import loader

st.set_page_config(page_title="imbal — per-class dataset health", page_icon=":material/balance:", layout="wide")

PAGES = {
    "Dataset": [
        st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    ],
}

navigation = st.navigation(PAGES)
with st.sidebar:
    st.markdown("## imbal")
    st.caption("Per-class dataset health for computer vision")
loader.sidebar()
navigation.run()
