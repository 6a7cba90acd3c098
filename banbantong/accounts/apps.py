from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "banbantong.accounts"
    label = "accounts"
    verbose_name = "账号"

    def ready(self) -> None:
        from banbantong.accounts import signals  # noqa: F401
