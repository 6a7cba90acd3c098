"""`bbt serve`: run the platform with waitress, static files served by WhiteNoise.

One process with a thread pool is the embedded setup (DESIGN §6); production runs several of
these behind nginx. Waitress is pure Python, so this works on Windows as well as Linux.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

DEFAULT_ADDR = "127.0.0.1:8000"
DEFAULT_THREADS = 8


def parse_addr(addr: str) -> tuple[str, int]:
    """'127.0.0.1:8000' -> ('127.0.0.1', 8000); '8000' -> ('127.0.0.1', 8000); '[::1]:8000' too."""
    addr = addr.strip()
    host, sep, port = addr.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", addr
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"监听地址 {addr!r} 不正确：请写成 主机:端口，例如 127.0.0.1:8000。")
    return host, int(port)


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - only naming the URL
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


UPLOAD_BODY_IN_MEMORY = 8 * 1024 * 1024 + 64 * 1024  # resources.rules.DEFAULT_CHUNK plus headers
# Waitress reads sockets 8 KB at a time by default: ~500 MB/s of request body on loopback, the
# large part of a 1 GB upload's time; 256 KB reads take an 8 MB chunk in at ~1.1 GB/s.
UPLOAD_RECV_BYTES = 256 * 1024


class Command(BaseCommand):
    help = "启动班班通平台的网页服务（waitress），静态文件由 WhiteNoise 提供。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default=DEFAULT_ADDR, help=f"监听地址，默认 {DEFAULT_ADDR}")
        parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help=f"工作线程数，默认 {DEFAULT_THREADS}")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = parse_addr(options["addr"])
        threads = options["threads"]
        if threads < 1:
            raise CommandError("--threads 至少为 1。")
        call_command("collectstatic", interactive=False, verbosity=0)

        from waitress.server import create_server

        from banbantong.wsgi import application

        try:
            # A resumable upload's chunk (8 MB by default) stays in memory instead of being spooled
            # to a temporary file by waitress and read back; bigger bodies still spool.
            server = create_server(application, host=host, port=port, threads=threads, ident="banbantong",
                                   inbuf_overflow=UPLOAD_BODY_IN_MEMORY, recv_bytes=UPLOAD_RECV_BYTES)
        except OSError as exc:
            raise CommandError(f"无法监听 {host}:{port}：{exc}。端口可能已被占用，请用 --addr 换一个端口。") from exc
        allowed = settings.ALLOWED_HOSTS
        if host not in {"127.0.0.1", "localhost", "::1"} and "*" not in allowed:
            self.stdout.write(
                f"提示：从其他电脑访问时，请把本机的 IP 或域名加入环境变量 BBT_ALLOWED_HOSTS（当前：{','.join(allowed)}）。"
            )
        self.stdout.write(self.style.SUCCESS(f"班班通平台已启动：{url_for(host, port)}  （按 Ctrl+C 停止）"))
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
        self.stdout.write("已停止。")
