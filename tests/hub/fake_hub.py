#!/usr/bin/env python3
"""fake_hub.py — a loopback-only imitation of the Hugging Face Hub's download endpoints, for the tests
of `npugen pull` (tests/test_hub_pull.c). Python 3 standard library only.

It serves one folder as one model repo, through the Hub's URL shapes:
  GET  /api/models/{repo_id}/revision/{revision}[?blobs=true]   the listing (sha, siblings)
  GET|HEAD /{repo_id}/resolve/{revision}/{path}                 a file; LFS files answer 302 to /cdn/{sha256}
  GET|HEAD /cdn/{sha256}                                        the LFS bytes (no token needed, like a signed URL)
Files ending in .safetensors (or of 1 MiB and more) are LFS files (listed with lfs.sha256 and served
with X-Linked-Etag); the others carry their git blob sha1 as blobId / ETag. Every answer carries
X-Repo-Commit; Range requests get 206 with Content-Range.

Test modes:
  --token T        the listing and resolve URLs need "Authorization: Bearer T" (else 401)
  --drop-once      the first full (non-Range) body of each file stops half-way and the connection is cut
  --corrupt NAME   NAME's bytes are served with one byte flipped (the listing keeps the true hash)
Every request is appended to --log as one JSON line: method, path, range, auth.
The server binds 127.0.0.1 on a free port, writes the port to --port-file, and exits by itself after
--lifetime seconds so a crashed test never leaves it behind.
"""
import argparse
import hashlib
import http.server
import json
import os
import socket
import sys
import threading
import urllib.parse


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256, size):
    return ("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (sha256, size)).encode()


class Repo:
    def __init__(self, repo_id, root, revision):
        self.repo_id = repo_id
        self.revision = revision
        self.files = {}  # name -> dict(data, lfs, etag, blob_id)
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames.sort()
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                name = os.path.relpath(full, root).replace(os.sep, "/")
                with open(full, "rb") as f:
                    data = f.read()
                lfs = name.endswith(".safetensors") or len(data) >= (1 << 20)
                entry = {"data": data, "lfs": lfs}
                if lfs:
                    entry["sha256"] = hashlib.sha256(data).hexdigest()
                    entry["blob_id"] = git_blob_sha1(lfs_pointer(entry["sha256"], len(data)))
                    entry["etag"] = entry["sha256"]
                else:
                    entry["blob_id"] = git_blob_sha1(data)
                    entry["etag"] = entry["blob_id"]
                self.files[name] = entry
        h = hashlib.sha1()
        for name in sorted(self.files):
            h.update(name.encode() + b"\0" + self.files[name]["etag"].encode() + b"\0")
        self.commit = h.hexdigest()

    def listing(self, blobs):
        siblings = []
        for name in sorted(self.files):
            e = self.files[name]
            s = {"rfilename": name}
            if blobs:
                s["blobId"] = e["blob_id"]
                s["size"] = len(e["data"])
                if e["lfs"]:
                    s["lfs"] = {"sha256": e["sha256"], "size": len(e["data"]),
                                "pointerSize": len(lfs_pointer(e["sha256"], len(e["data"])))}
            siblings.append(s)
        return {"_id": "0" * 24, "id": self.repo_id, "modelId": self.repo_id, "sha": self.commit,
                "private": False, "siblings": siblings}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-hub/1"

    def log_message(self, fmt, *args):  # quiet: the request log is the JSON file
        pass

    def record(self):
        cfg = self.server.cfg
        line = json.dumps({"method": self.command, "path": self.path,
                           "range": self.headers.get("Range"),
                           "auth": self.headers.get("Authorization")})
        with cfg["lock"]:
            with open(cfg["log"], "a") as f:
                f.write(line + "\n")

    def send_error_json(self, code, error_code, message):
        body = json.dumps({"error": message}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Error-Code", error_code)
        self.send_header("X-Error-Message", message)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def authorized(self):
        token = self.server.cfg["token"]
        if token is None:
            return True
        got = self.headers.get("Authorization")
        if got == "Bearer " + token:
            return True
        self.send_error_json(401, "RepoNotFound" if got is None else "InvalidCredentials",
                             "Invalid credentials in Authorization header" if got else
                             "Repository not found or access requires authentication")
        return False

    def do_HEAD(self):
        self.handle_request()

    def do_GET(self):
        self.handle_request()

    def handle_request(self):
        self.record()
        cfg = self.server.cfg
        repo = cfg["repo"]
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        api = "/api/models/" + repo.repo_id
        if path == api or path.startswith(api + "/revision/"):
            if not self.authorized():
                return
            rev = urllib.parse.unquote(path[len(api + "/revision/"):]) if path != api else repo.revision
            if rev not in (repo.revision, repo.commit):
                return self.send_error_json(404, "RevisionNotFound", "Invalid rev id: " + rev)
            blobs = query.get("blobs", ["false"])[0].lower() in ("1", "true")
            body = json.dumps(repo.listing(blobs)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        if path.startswith("/api/models/"):
            return self.send_error_json(404, "RepoNotFound", "Repository not found")
        prefix = "/" + repo.repo_id + "/resolve/"
        if path.startswith(prefix):
            if not self.authorized():
                return
            rest = path[len(prefix):]
            rev, _, name = rest.partition("/")
            rev, name = urllib.parse.unquote(rev), urllib.parse.unquote(name)
            if rev not in (repo.revision, repo.commit):
                return self.send_error_json(404, "RevisionNotFound", "Invalid rev id: " + rev)
            e = repo.files.get(name)
            if e is None:
                return self.send_error_json(404, "EntryNotFound", "Entry not found")
            if e["lfs"]:
                self.send_response(302)
                self.send_header("Location", "/cdn/" + e["sha256"])
                self.send_header("X-Repo-Commit", repo.commit)
                self.send_header("X-Linked-Etag", '"%s"' % e["sha256"])
                self.send_header("X-Linked-Size", str(len(e["data"])))
                self.send_header("ETag", '"%s"' % e["blob_id"])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            return self.send_bytes(name, e, {"X-Repo-Commit": repo.commit, "ETag": '"%s"' % e["etag"]})
        if path.startswith("/cdn/"):
            sha = path[len("/cdn/"):]
            for name, e in repo.files.items():
                if e["lfs"] and e["sha256"] == sha:
                    return self.send_bytes(name, e, {"ETag": '"%s"' % sha})
        return self.send_error_json(404, "EntryNotFound", "Not found: " + path)

    def send_bytes(self, name, e, headers):
        cfg = self.server.cfg
        data = e["data"]
        if cfg["corrupt"] == name and len(data) > 0:
            data = bytearray(data)
            data[len(data) // 2] ^= 0xFF
            data = bytes(data)
        total = len(data)
        start, code = 0, 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes="):-1])
            if start >= total:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % total)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            code = 206
        body = data[start:]
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, total - 1, total))
        self.end_headers()
        if self.command == "HEAD":
            return
        drop = False
        if cfg["drop_once"] and code == 200 and len(body) > 1:
            with cfg["lock"]:
                drop = name not in cfg["dropped"]
                cfg["dropped"].add(name)
        if drop:  # half the promised bytes, then cut the connection
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", required=True, help="ORG/NAME=FOLDER")
    ap.add_argument("--revision", default="main")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--token")
    ap.add_argument("--drop-once", action="store_true")
    ap.add_argument("--corrupt")
    ap.add_argument("--lifetime", type=float, default=300.0)
    a = ap.parse_args()
    repo_id, _, root = a.repo.partition("=")
    srv = Server(("127.0.0.1", 0), Handler)
    srv.cfg = {"repo": Repo(repo_id, root, a.revision), "token": a.token, "drop_once": a.drop_once,
               "corrupt": a.corrupt, "log": a.log, "lock": threading.Lock(), "dropped": set()}
    t = threading.Timer(a.lifetime, lambda: os._exit(3))
    t.daemon = True
    t.start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
