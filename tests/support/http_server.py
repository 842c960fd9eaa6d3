"""A small HTTP server for the `mattebox models fetch` tests: serves the files of a folder,
honours `Range: bytes=N-` (206 with Content-Range), can cut the connection of the first full
download after N bytes, and logs each request as a JSON line.

    python tests/support/http_server.py DIR LOG [--cut-after N]

It listens on 127.0.0.1 on a free port and prints `port N` on its first line of stdout.
"""
import argparse
import http.server
import json
import os
import sys
import threading


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("log")
    parser.add_argument("--cut-after", type=int, default=None)
    args = parser.parse_args()
    lock = threading.Lock()
    state = {"cut": args.cut_after}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a) -> None:
            pass

        def do_GET(self) -> None:
            path = os.path.join(args.root, self.path.lstrip("/"))
            rng = self.headers.get("Range")
            with lock, open(args.log, "a") as log:
                log.write(json.dumps({"path": self.path, "range": rng}) + "\n")
            if not os.path.isfile(path):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = open(path, "rb").read()
            start = 0
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[len("bytes="):-1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            with lock:
                cut, state["cut"] = state["cut"], None
            if cut is not None:
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"port {server.server_address[1]}", flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
