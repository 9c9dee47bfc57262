"""ccconsole.settings.resolve: one order for the database, the actor and the flags; a broken config file is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccconsole import settings
from ccconsole.settings import Settings, resolve


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """An environment of our own: XDG dirs and HOME under tmp_path, a known user, no CCCONSOLE_DB."""
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "USER": "env-user",
    }


@pytest.fixture
def cfg(env) -> Path:
    """Where resolve() looks for the config file in ``env`` (not created)."""
    return Path(env["XDG_CONFIG_HOME"]) / "ccconsole" / "config.toml"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def default_db(env) -> str:
    return f"sqlite:///{env['XDG_DATA_HOME']}/ccconsole/ccconsole.db"


def demo_db(env) -> str:
    return f"sqlite:///{env['XDG_DATA_HOME']}/ccconsole/demo.db"


# --- where things live -----------------------------------------------------------------------------


def test_nothing_given_uses_the_defaults(env, cfg):
    s = resolve(environ=env)
    assert s == Settings(db=default_db(env), db_source="default", demo=False, actor="env-user",
                         read_only=False, mouse=True, keys={}, config_file=cfg)


def test_paths_are_read_from_the_given_environment_at_call_time(tmp_path, env):
    env["XDG_CONFIG_HOME"] = str(tmp_path / "other-config")
    env["XDG_DATA_HOME"] = str(tmp_path / "other-data")
    assert settings.config_path(env) == tmp_path / "other-config" / "ccconsole" / "config.toml"
    s = resolve(environ=env)
    assert s.config_file == tmp_path / "other-config" / "ccconsole" / "config.toml"
    assert s.db == f"sqlite:///{tmp_path}/other-data/ccconsole/ccconsole.db"


def test_the_config_file_in_the_xdg_config_dir_is_read(env, cfg):
    write(cfg, 'db = "postgresql://x/y"\n')
    s = resolve(environ=env)
    assert (s.db, s.db_source, s.config_file) == ("postgresql://x/y", "config file", cfg)


def test_an_explicit_config_path_wins_over_the_xdg_one(tmp_path, env, cfg):
    write(cfg, 'db = "postgresql://xdg/db"\n')
    other = write(tmp_path / "elsewhere.toml", 'db = "postgresql://explicit/db"\n')
    s = resolve(environ=env, config=other)
    assert (s.db, s.config_file) == ("postgresql://explicit/db", other)


def test_a_relative_xdg_dir_is_ignored_as_the_spec_says(env):
    env["XDG_DATA_HOME"] = "relative/data"
    assert not resolve(environ=env).db.startswith("sqlite:///relative/")


def test_no_directories_or_files_are_created(tmp_path, env):
    resolve(environ=env, demo=True)
    assert list(tmp_path.iterdir()) == []


# --- the database: every precedence pair ----------------------------------------------------------

FLAG, ENV, FILE = "/flag/a.db", "/env/b.db", "/file/c.db"


@pytest.mark.parametrize("given, expected", [
    # every combination of the four sources; the highest one present wins
    ({"db", "demo", "env", "file"}, (FLAG, "--db")),
    ({"db", "demo"}, (FLAG, "--db")),
    ({"db", "env"}, (FLAG, "--db")),
    ({"db", "file"}, (FLAG, "--db")),
    ({"db"}, (FLAG, "--db")),
    ({"demo", "env", "file"}, ("DEMO", "--demo")),
    ({"demo", "env"}, ("DEMO", "--demo")),
    ({"demo", "file"}, ("DEMO", "--demo")),
    ({"demo"}, ("DEMO", "--demo")),
    ({"env", "file"}, (ENV, "CCCONSOLE_DB")),
    ({"env"}, (ENV, "CCCONSOLE_DB")),
    ({"file"}, (FILE, "config file")),
    (set(), ("DEFAULT", "default")),
])
def test_database_precedence(env, cfg, given, expected):
    if "env" in given:
        env["CCCONSOLE_DB"] = ENV
    if "file" in given:
        write(cfg, f'db = "{FILE}"\n')
    s = resolve(db=FLAG if "db" in given else None, demo="demo" in given, environ=env)
    want_db = {"DEMO": demo_db(env), "DEFAULT": default_db(env)}.get(expected[0], expected[0])
    assert (s.db, s.db_source, s.demo) == (want_db, expected[1], "demo" in given)


def test_db_with_demo_is_the_demo_workspace_in_that_database(env):
    s = resolve(db="postgresql://staff@h/cc", demo=True, environ=env)
    assert (s.db, s.db_source, s.demo) == ("postgresql://staff@h/cc", "--db", True)


@pytest.mark.parametrize("blank", ["", "   "])
def test_empty_strings_count_as_not_given(env, cfg, blank):
    env["CCCONSOLE_DB"] = blank
    write(cfg, f'db = "{blank}"\nactor = "{blank}"\n')
    s = resolve(db=blank, actor=blank, environ=env)
    assert (s.db, s.db_source, s.actor) == (default_db(env), "default", "env-user")


def test_an_empty_flag_falls_through_to_the_next_source(env, cfg):
    env["CCCONSOLE_DB"] = ENV
    assert (resolve(db="", environ=env).db, resolve(db="", environ=env).db_source) == (ENV, "CCCONSOLE_DB")
    env["CCCONSOLE_DB"] = ""
    write(cfg, f'db = "{FILE}"\n')
    s = resolve(db="", environ=env)
    assert (s.db, s.db_source) == (FILE, "config file")


def test_tilde_is_expanded_in_a_config_file_path(env, cfg):
    write(cfg, 'db = "~/work/cc.db"\n')
    assert resolve(environ=env).db == f"{env['HOME']}/work/cc.db"


def test_tilde_is_expanded_in_a_config_file_sqlite_url(env, cfg):
    write(cfg, 'db = "sqlite:///~/work/cc.db"\n')
    assert resolve(environ=env).db == f"sqlite:///{env['HOME']}/work/cc.db"


def test_tilde_is_expanded_in_the_flag_and_the_environment_too(env):
    assert resolve(db="~/a.db", environ=env).db == f"{env['HOME']}/a.db"
    env["CCCONSOLE_DB"] = "~/b.db"
    assert resolve(environ=env).db == f"{env['HOME']}/b.db"


def test_other_urls_are_left_as_given(env, cfg):
    write(cfg, 'db = "postgresql+psycopg://~staff@db.internal/cc"\n')
    assert resolve(environ=env).db == "postgresql+psycopg://~staff@db.internal/cc"


# --- actor ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag, file, sudo, user, expected", [
    ("flag", "file", "sudo", "user", "flag"),
    ("flag", None, None, None, "flag"),
    ("flag", None, "sudo", None, "flag"),
    ("flag", None, None, "user", "flag"),
    (None, "file", "sudo", "user", "file"),
    (None, "file", "sudo", None, "file"),
    (None, "file", None, "user", "file"),
    (None, None, "sudo", "user", "sudo"),
    (None, None, "sudo", None, "sudo"),
    (None, None, None, "user", "user"),
])
def test_actor_precedence(env, cfg, flag, file, sudo, user, expected):
    env.pop("USER")
    if sudo:
        env["SUDO_USER"] = sudo
    if user:
        env["USER"] = user
    if file:
        write(cfg, f'actor = "{file}"\n')
    assert resolve(actor=flag, environ=env).actor == expected


def test_actor_falls_back_to_the_login_name_then_unknown(env, monkeypatch):
    env.pop("USER")
    env["SUDO_USER"] = ""
    monkeypatch.setattr(settings.getpass, "getuser", lambda: "login-name")
    assert resolve(environ=env).actor == "login-name"

    def no_user():
        raise KeyError("getpwuid(): uid not found: 1234")

    monkeypatch.setattr(settings.getpass, "getuser", no_user)
    assert resolve(environ=env).actor == "unknown"
    monkeypatch.setattr(settings.getpass, "getuser", lambda: "")
    assert resolve(environ=env).actor == "unknown"


def test_default_actor_reads_the_given_environment():
    assert settings.default_actor({"SUDO_USER": "root-for", "USER": "root"}) == "root-for"
    assert settings.default_actor({"SUDO_USER": "", "USER": "plain"}) == "plain"


# --- read_only and mouse -------------------------------------------------------------------------


@pytest.mark.parametrize("flag, file, expected", [
    (False, None, False),
    (False, False, False),
    (False, True, True),
    (True, None, True),
    (True, False, True),
    (True, True, True),
])
def test_read_only_is_the_flag_or_the_config(env, cfg, flag, file, expected):
    if file is not None:
        write(cfg, f"read_only = {str(file).lower()}\n")
    assert resolve(read_only=flag, environ=env).read_only is expected


@pytest.mark.parametrize("file, no_mouse, expected", [
    (None, False, True),
    (None, True, False),
    (True, False, True),
    (True, True, False),
    (False, False, False),
    (False, True, False),
])
def test_mouse_is_the_config_and_not_no_mouse(env, cfg, file, no_mouse, expected):
    if file is not None:
        write(cfg, f"mouse = {str(file).lower()}\n")
    assert resolve(no_mouse=no_mouse, environ=env).mouse is expected


# --- keys ----------------------------------------------------------------------------------------


def test_keys_come_from_the_config(env, cfg):
    write(cfg, '[keys]\n"contacts.edit" = "e,enter"\n"app.quit" = "q"\n')
    assert resolve(environ=env).keys == {"contacts.edit": "e,enter", "app.quit": "q"}


def test_unquoted_dotted_action_ids_are_flattened(env, cfg):
    write(cfg, '[keys]\ncontacts.edit = "e"\ncontacts.new = "n"\n')
    assert resolve(environ=env).keys == {"contacts.edit": "e", "contacts.new": "n"}


def test_a_full_config_file(env, cfg):
    write(cfg, 'db = "postgresql://h/cc"\nactor = "jane"\nmouse = false\nread_only = true\n'
               '[keys]\n"contacts.edit" = "e"\n')
    assert resolve(environ=env) == Settings(
        db="postgresql://h/cc", db_source="config file", demo=False, actor="jane", read_only=True,
        mouse=False, keys={"contacts.edit": "e"}, config_file=cfg)


# --- a broken config file: one line naming the file -----------------------------------------------


@pytest.mark.parametrize("content, reason", [
    (b"db = \xff\xfe\n", "not UTF-8 text"),
    ("db = \n", "not valid TOML"),
    ("[keys\n", "not valid TOML"),
    ('db = "a"\ndb = "b"\n', "not valid TOML"),
    ("db = 5\n", "db must be a string"),
    ("db = ['a']\n", "db must be a string"),
    ("actor = 7\n", "actor must be a string"),
    ('mouse = "yes"\n', "mouse must be true or false"),
    ("mouse = 1\n", "mouse must be true or false"),
    ('read_only = "true"\n', "read_only must be true or false"),
    ('keys = "e"\n', "keys must be a table"),
    ("keys = ['e']\n", "keys must be a table"),
    ('[keys]\n"contacts.edit" = 5\n', 'keys."contacts.edit" must be a string'),
    ('colour = "blue"\n', "unknown setting 'colour'"),
    ('[db]\nurl = "x"\n', "db must be a string"),
    ('[key]\n"a.b" = "c"\n', "unknown setting 'key'"),
])
def test_a_broken_config_file_is_one_line_naming_the_file(env, cfg, content, reason):
    write(cfg, content)
    with pytest.raises(ValueError) as info:
        resolve(environ=env)
    message = str(info.value)
    assert message.startswith(f"{cfg}: {reason}")
    assert "\n" not in message


def test_an_unreadable_config_path_is_one_line(env, cfg):
    cfg.mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(ValueError) as info:
        resolve(environ=env)
    assert str(info.value).startswith(f"{cfg}: cannot read the config file")
    assert "\n" not in str(info.value)


def test_a_broken_config_file_is_an_error_even_when_flags_override_it(env, cfg):
    write(cfg, "db = 5\n")
    with pytest.raises(ValueError, match="db must be a string"):
        resolve(db="/x.db", environ=env)


def test_a_missing_config_file_is_fine(env, cfg):
    assert not cfg.exists()
    assert resolve(environ=env).config_file == cfg


# --- the old entry point ---------------------------------------------------------------------------


def test_load_is_resolve_without_flags(env, cfg, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CCCONSOLE_DB", raising=False)
    monkeypatch.delenv("SUDO_USER", raising=False)
    write(cfg, 'db = "postgresql://h/cc"\nactor = "jane"\n')
    assert settings.load() == resolve(environ=env)
    assert settings.load().db_source == "config file"
