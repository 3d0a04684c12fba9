"""Pieces several pages show: the load report, grouped by problem, with its download."""
from __future__ import annotations

import streamlit as st

from imbal_core.dataset import Dataset
from imbal_core.downloads import csv_bytes

ROWS_SHOWN = 500


def load_report(dataset: Dataset, key: str = "report") -> None:
    report = dataset.report
    if not report:
        st.success("No problems were found while reading this export.")
        return
    st.write(f"**{len(report):,} problems** were found while reading; **{report.skipped:,} records** were left out.")
    summary = report.summary().to_pandas().rename(columns={"code": "problem", "rows": "records", "example": "first example"})
    st.dataframe(summary[["problem", "action", "records", "first example", "file"]], hide_index=True, width="stretch")
    table = report.to_pandas()
    for code, group in table.groupby("code", sort=False):
        with st.expander(f"{code} — {len(group):,} records"):
            st.dataframe(group.head(ROWS_SHOWN)[["file", "record", "problem", "action"]], hide_index=True, width="stretch")
            if len(group) > ROWS_SHOWN:
                st.caption(f"The first {ROWS_SHOWN} of {len(group):,}; the download holds them all.")
    st.download_button("Download the report (CSV)", csv_bytes(report.to_arrow()), file_name="imbal_load_report.csv",
                       mime="text/csv", key=f"{key}_download")
