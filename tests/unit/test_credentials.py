import sys
import types

import pytest

from helpers.core import credentials
from helpers.core.credentials import MissingSecretError, Secret, get_secret

NAMES = list(credentials.PRAW_KEYS)


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmp_path):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("BOT_DRIVE_ROOT", str(tmp_path / "drive"))
    monkeypatch.chdir(tmp_path)
    credentials.forget_secrets()
    yield
    credentials.forget_secrets()


def test_missing_secret_names_it_and_where_to_set_it():
    with pytest.raises(MissingSecretError) as err:
        get_secret("REDDIT_PASSWORD")
    text = str(err.value)
    assert "REDDIT_PASSWORD is not set" in text
    assert "Colab" in text and "export REDDIT_PASSWORD" in text and "password = ..." in text and "[bot]" in text


def test_environment_then_cached(monkeypatch):
    monkeypatch.setenv("REDDIT_USERNAME", "hunter")
    secret = get_secret("REDDIT_USERNAME")
    assert secret.reveal() == "hunter" and secret.source == "environment"
    monkeypatch.setenv("REDDIT_USERNAME", "changed")
    assert get_secret("REDDIT_USERNAME").reveal() == "hunter"  # looked up once


def test_praw_ini_in_drive_root(tmp_path):
    (tmp_path / "drive").mkdir()
    (tmp_path / "drive" / "praw.ini").write_text("[bot]\nclient_secret = s3cr3t-value\n")
    assert get_secret("REDDIT_CLIENT_SECRET").reveal() == "s3cr3t-value"


def test_praw_ini_in_xdg_config(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "praw.ini").write_text("[DEFAULT]\ncheck_for_updates=False\n[bot]\nclient_id = the-id\n")
    assert get_secret("REDDIT_CLIENT_ID").reveal() == "the-id"


def test_environment_beats_praw_ini(tmp_path, monkeypatch):
    (tmp_path / "praw.ini").write_text("[bot]\nusername = from-file\n")
    monkeypatch.setenv("REDDIT_USERNAME", "from-env")
    assert get_secret("REDDIT_USERNAME").reveal() == "from-env"


def test_colab_secrets_come_first(monkeypatch):
    class SecretNotFoundError(Exception):
        pass

    userdata = types.SimpleNamespace(
        get=lambda name: {"REDDIT_PASSWORD": "from-colab"}.get(name) or (_ for _ in ()).throw(SecretNotFoundError()),
        SecretNotFoundError=SecretNotFoundError, NotebookAccessError=PermissionError,
    )
    colab = types.ModuleType("google.colab")
    colab.userdata = userdata
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(credentials.runtime, "drive_root", lambda: credentials.Path("/nonexistent"))
    monkeypatch.setenv("REDDIT_PASSWORD", "from-env")
    monkeypatch.setenv("REDDIT_USERNAME", "from-env")
    assert get_secret("REDDIT_PASSWORD").reveal() == "from-colab"
    assert get_secret("REDDIT_USERNAME").reveal() == "from-env"  # not in Colab Secrets: falls through


def test_secret_never_shows_its_value(monkeypatch):
    monkeypatch.setenv("REDDIT_PASSWORD", "pa55word-xyz")
    secret = get_secret("REDDIT_PASSWORD")
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", "%s" % secret, str([secret]), str({"p": secret})]
    assert all("pa55word-xyz" not in s for s in shown), shown
    with pytest.raises(TypeError):
        __import__("pickle").dumps(secret)
    assert isinstance(secret, Secret)


def colab_with(monkeypatch, secrets: dict, no_access: set, no_answer: set = frozenset()):
    class SecretNotFoundError(Exception):
        pass

    class NotebookAccessError(Exception):
        pass

    class TimeoutException(Exception):  # Colab's: the access prompt got no answer in time
        pass

    def get(name):
        if name in no_answer:
            raise TimeoutException(name)
        if name in no_access:
            raise NotebookAccessError(name)
        if name in secrets:
            return secrets[name]
        raise SecretNotFoundError(name)

    colab = types.ModuleType("google.colab")
    colab.userdata = types.SimpleNamespace(get=get, SecretNotFoundError=SecretNotFoundError,
                                           NotebookAccessError=NotebookAccessError,
                                           TimeoutException=TimeoutException)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(credentials.runtime, "drive_root", lambda: credentials.Path("/nonexistent"))


def test_a_secret_without_notebook_access_is_not_reported_as_unset(monkeypatch):
    colab_with(monkeypatch, {}, no_access={"REDDIT_PASSWORD"})
    with pytest.raises(MissingSecretError) as err:
        get_secret("REDDIT_PASSWORD")
    text = str(err.value)
    assert "is not set" not in text
    assert "REDDIT_PASSWORD is in Colab Secrets but this notebook has no access" in text
    assert "Notebook access" in text


def test_a_secret_without_notebook_access_falls_back_to_the_environment(monkeypatch):
    colab_with(monkeypatch, {}, no_access={"REDDIT_PASSWORD"})
    monkeypatch.setenv("REDDIT_PASSWORD", "from-env")
    assert get_secret("REDDIT_PASSWORD").reveal() == "from-env"


def test_an_empty_colab_secret_is_not_reported_as_unset(monkeypatch):
    colab_with(monkeypatch, {"REDDIT_PASSWORD": "  "}, no_access=set())
    with pytest.raises(MissingSecretError) as err:
        get_secret("REDDIT_PASSWORD")
    text = str(err.value)
    assert "is not set" not in text and "REDDIT_PASSWORD is in Colab Secrets but its value is empty" in text


def test_an_unanswered_access_prompt_says_so_and_is_asked_again(monkeypatch):
    colab_with(monkeypatch, {"REDDIT_PASSWORD": "pw"}, no_access=set(), no_answer={"REDDIT_PASSWORD"})
    with pytest.raises(MissingSecretError) as err:
        get_secret("REDDIT_PASSWORD")
    assert "Grant access" in str(err.value) and "is not set" not in str(err.value)
    colab_with(monkeypatch, {"REDDIT_PASSWORD": "pw"}, no_access=set())  # the person answers this time
    assert get_secret("REDDIT_PASSWORD").reveal() == "pw"  # a failed lookup is not cached


def test_every_missing_reddit_secret_is_named_at_once():
    """A person with none set learns all four names in one round, not one per rerun."""
    from helpers.live import reddit

    with pytest.raises(MissingSecretError) as err:
        reddit.connect(check=False)
    text = str(err.value)
    assert "4 secrets are not set" in text
    assert all(name in text for name in NAMES), text
    assert all(f"{key} = ..." in text for key in credentials.PRAW_KEYS.values()), text
    with pytest.raises(MissingSecretError) as err:
        reddit.public_client()
    assert "REDDIT_CLIENT_ID" in str(err.value) and "REDDIT_CLIENT_SECRET" in str(err.value)


def test_the_missing_ones_only_and_each_reason(monkeypatch):
    monkeypatch.setenv("REDDIT_USERNAME", "hunter")
    colab_with(monkeypatch, {"REDDIT_CLIENT_ID": " "}, no_access={"REDDIT_PASSWORD"})
    with pytest.raises(MissingSecretError) as err:
        credentials.get_secrets(NAMES)
    text = str(err.value)
    assert "REDDIT_USERNAME" not in text
    assert "REDDIT_CLIENT_ID is in Colab Secrets but its value is empty" in text
    assert "REDDIT_PASSWORD is in Colab Secrets but this notebook has no access" in text
    assert "secret REDDIT_CLIENT_SECRET is not set" in text
    assert err.value.names == ["REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_PASSWORD"]


def test_all_set_gives_each_secret(monkeypatch):
    for name in NAMES:
        monkeypatch.setenv(name, name.lower())
    found = credentials.get_secrets(NAMES)
    assert list(found) == NAMES and found["REDDIT_PASSWORD"].reveal() == "reddit_password"
