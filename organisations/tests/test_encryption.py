import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, models
from django.test.utils import isolate_apps

from organisations.encryption import EncryptedTextField, decrypt, encrypt, mask
from organisations.management.commands.rotate_encryption_keys import reencrypt

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_round_trip_and_ciphertext_differs_from_plaintext(settings):
    token = encrypt("ya29.secret-access-token")
    assert "secret" not in token
    assert decrypt(token) == "ya29.secret-access-token"


def test_old_keys_still_decrypt_after_a_new_key_is_put_first(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    token = encrypt("refresh-token")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert decrypt(token) == "refresh-token"
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(ImproperlyConfigured):
        decrypt(token)


def test_masking_never_shows_the_whole_secret():
    assert mask("sk_live_1234567890abcd") == "••••••••abcd"
    assert mask("short") == "••••••••"
    assert mask("") == ""


@pytest.mark.django_db(transaction=True)
@isolate_apps("organisations")
def test_rotation_command_rewrites_rows_under_the_newest_key(settings):
    class Vault(models.Model):  # noqa: DJ008 - a throwaway table
        secret = EncryptedTextField(blank=True)
        all_organisations = models.Manager()

        class Meta:
            app_label = "organisations"

    with connection.schema_editor() as editor:
        editor.create_model(Vault)
    try:
        settings.FIELD_ENCRYPTION_KEYS = [OLD]
        row = Vault.all_organisations.create(secret="twilio-auth-token")
        Vault.all_organisations.create(secret="")
        settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
        assert reencrypt(Vault) == 1
        settings.FIELD_ENCRYPTION_KEYS = [NEW]
        assert Vault.all_organisations.get(pk=row.pk).secret == "twilio-auth-token"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT secret FROM {Vault._meta.db_table} WHERE id = %s", [row.pk])
            assert "twilio" not in cursor.fetchone()[0]
        call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Vault)
