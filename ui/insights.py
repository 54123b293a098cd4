"""The knowledge team's page: where the knowledge base fails agents (knowledge gaps, grouped
into topics), how each document is used (document health), and the trends over time."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from kb.insights import GapReason, gaps_csv, least_used, most_used
from ui.i18n import t
from ui.shared import as_text, get_services, reader_of, require

user = require("insights")
services = get_services()
today = dt.date.today()
st.title(t("Insights"))

since_column, until_column = st.columns(2)
since = since_column.date_input(t("From"), value=today - dt.timedelta(days=30))
until = until_column.date_input(t("To"), value=today)
with st.spinner(t("Reading agents' questions...")):
    report = services.insights(since, until, today, reader=reader_of(user))


def rate(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


refused = sum(d.refused for d in report.trends)
rated = sum(d.helpful + d.not_helpful for d in report.trends)
helpful = sum(d.helpful for d in report.trends)
asked, refusals, gap_count, helpful_share = st.columns(4)
asked.metric(t("Questions asked"), report.questions)
refusals.metric(t("Refused (not covered)"), rate(refused, report.questions))
gap_count.metric(t("Failing questions"), len(report.gaps))
helpful_share.metric(t("Rated helpful"), rate(helpful, rated))

gaps_tab, health_tab, trends_tab = st.tabs(
    [t("Knowledge gaps"), t("Document health"), t("Trends")], key="insights-tab", on_change="rerun"
)

with gaps_tab:
    st.caption(
        t(
            "Questions that were refused, answered with low confidence or marked not helpful, grouped by topic."
        )
    )
    if not report.topics:
        st.info(t("No failing questions in this period."))
    else:
        titles = {
            d.document_id: d.title
            for d in services.documents(include_deleted=True, reader=reader_of(user))
        }
        st.dataframe(
            [
                {t("Topic"): topic.label, t("Questions"): topic.count,
                 t("Refused"): topic.reasons[GapReason.REFUSED],
                 t("Low confidence"): topic.reasons[GapReason.LOW_CONFIDENCE],
                 t("Not helpful"): topic.reasons[GapReason.NOT_HELPFUL],
                 t("First seen"): topic.first_seen[:10], t("Last seen"): topic.last_seen[:10],
                 t("Documents shown"): ", ".join(titles.get(d, d) for d in topic.documents[:3])}
                for topic in report.topics
            ],
            hide_index=True,
            width="stretch",
        )  # fmt: skip
        per_day = pd.DataFrame(
            {topic.label: pd.Series(topic.per_day) for topic in report.topics[:8]}
        ).fillna(0)
        per_day.index = pd.to_datetime(per_day.index)
        per_day = per_day.reindex(pd.date_range(since, until), fill_value=0)
        st.subheader(t("Failing questions per day, by topic"))
        st.bar_chart(per_day, stack=True)
        for topic in report.topics:
            label = t("{label}: {count} questions", label=topic.label, count=topic.count)
            with st.expander(as_text(label)):
                for example in topic.examples:  # agents' questions: shown as text
                    st.markdown(f"- {as_text(example)}")
        if st.download_button(
            t("Export gaps as CSV"), gaps_csv(report.topics), file_name=f"knowledge-gaps-{since}-{until}.csv",
            mime="text/csv", on_click="ignore",
        ):  # fmt: skip
            services.audit.record(
                user.name, "export", what="knowledge gaps", topics=len(report.topics)
            )

with health_tab:
    health = report.health
    due = [h for h in health if h.past_review_by or h.past_expiry]
    never = [h for h in health if h.never_shown]
    st.caption(
        t("How often each current document was shown to agents in this period, and what they said.")
    )
    left, right = st.columns(2)
    left.metric(t("Never shown"), len(never))
    right.metric(t("Past review-by or expiry"), len(due))

    def rows(items):  # type: ignore[no-untyped-def]
        return [
            {t("Title"): h.title, t("Shown"): h.times_shown, t("Last shown"): (h.last_shown or "")[:10],
             t("Helpful"): h.helpful, t("Not helpful"): h.not_helpful, t("Review by"): h.review_by,
             t("Expiry"): h.expiry_date}
            for h in items
        ]  # fmt: skip

    most, least = st.columns(2)
    most.subheader(t("Most used"))
    most.dataframe(rows(most_used(health, 10)), hide_index=True)
    least.subheader(t("Least used"))
    least.dataframe(rows(least_used(health, 10)), hide_index=True)
    st.subheader(t("Needs review"))
    st.dataframe(rows(due), hide_index=True, width="stretch")
    st.subheader(t("All documents"))
    st.dataframe(rows(health), hide_index=True, width="stretch")

with trends_tab:
    if not report.trends:
        st.info(t("No questions in this period."))
    else:
        frame = pd.DataFrame(
            {
                t("Questions"): [d.questions for d in report.trends],
                t("Refusal rate"): [d.refusal_rate for d in report.trends],
                t("Helpful rate"): [d.helpful_rate for d in report.trends],
            },
            index=pd.to_datetime([d.day for d in report.trends]),
        ).reindex(pd.date_range(since, until))  # the whole period on the axis, quiet days too
        frame[t("Questions")] = frame[t("Questions")].fillna(0)
        st.subheader(t("Questions per day"))
        st.bar_chart(frame[[t("Questions")]])
        st.subheader(t("Refusal rate and helpful rate"))
        st.line_chart(frame[[t("Refusal rate"), t("Helpful rate")]])
