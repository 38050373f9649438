"""Stand-in for google.colab.auth: signing in does nothing (the smoke run never reaches BigQuery)."""


def authenticate_user(clear_output=True, project_id=None):
    pass
