from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "banbantong.search"
    label = "search"
    verbose_name = "资源检索"

    def ready(self) -> None:
        # The resource app knows nothing of search: the index follows its saves and deletes.
        from banbantong.search import signals

        signals.connect()
