"""The keyring of a daemon, from its settings: loaded once per process, checked at start."""

from __future__ import annotations

from s3d.config import ConfigError, Settings
from s3d.crypto import keys
from s3d.crypto.keys import Keyring


def keyring_for(settings: Settings) -> Keyring:
    """The settings' keyring (master keys from S3D_MASTER_KEY, the key file, or DATA/master-keys.json)."""
    if settings.keyring is None:
        try:
            if settings.master_key:
                master = keys.master_keys_from_env(settings.master_key)
            else:
                master = keys.load_master_keys(settings.master_key_file or settings.data / keys.MASTER_KEY_FILE)
            kms = keys.parse_kms_keys(settings.kms_keys)
        except keys.BadKeyFile as e:
            raise ConfigError(str(e)) from None
        settings.keyring = Keyring(master, kms)
    assert isinstance(settings.keyring, Keyring)
    return settings.keyring
