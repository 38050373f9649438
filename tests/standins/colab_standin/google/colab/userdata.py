"""Stand-in for google.colab.userdata: secrets from $COLAB_SECRET_<NAME>; `COLAB_SECRET_<NAME>=!noaccess`
stands for a secret the notebook may not read."""
import os


class SecretNotFoundError(Exception):
    pass


class NotebookAccessError(Exception):
    pass


def get(key):
    value = os.environ.get(f"COLAB_SECRET_{key}")
    if value is None:
        raise SecretNotFoundError(key)
    if value == "!noaccess":
        raise NotebookAccessError(key)
    return value
