"""The Streamlit labeling app: sign-in, the labeling and Compare pages, the admins' dashboard."""
