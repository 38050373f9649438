"""A stand-in for Colab's `google.colab` package (the colab smoke run puts it on the path).

`drive.mount` makes `<mount>/MyDrive` a plain folder, `userdata.get` reads Colab Secrets from
the environment (`COLAB_SECRET_<NAME>`), `auth.authenticate_user` does nothing. Only what the
notebooks call is here.
"""
from . import auth, drive, userdata  # noqa: F401
